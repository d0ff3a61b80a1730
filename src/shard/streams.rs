//! XREAD and XREADGROUP through the coordinator: keys on several cores,
//! and BLOCK.
//!
//! The keys are checked first, in the order Redis checks them (each key's
//! type, its group, then its id argument), from one probe per core; then
//! each core serves its keys in one op, and the replies come back in the
//! order of the keys. Nothing to serve and BLOCK given: the client blocks
//! on every key (`blocking`) until a write gives one of them entries, an
//! XREADGROUP's group or key goes, or the timeout passes.

use super::blocking::BlockKind;
use super::conn::Conn;
use super::mesh::Op;
use super::Core;
use crate::cluster::{core_of_slot, key_hash_slot};
use crate::command::streams::{self, ReadFrom, StreamWait};
use crate::protocol::Arg;
use crate::protocol::Reply;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

impl Conn {
    pub(super) async fn stream_read(&mut self, argv: &[Arg<'_>], xreadgroup: bool) -> Reply {
        let request = match streams::parse_read(argv, xreadgroup) {
            Ok(request) => request,
            Err(reply) => return reply,
        };
        let cores = self.core.cores();
        let keys: Vec<Bytes> = (0..request.streams)
            .map(|i| Bytes::copy_from_slice(request.key(argv, i)))
            .collect();
        let core_of = |key: &[u8]| core_of_slot(key_hash_slot(key), cores);
        let in_transaction = self.tx.exec_transaction.is_some() || self.tx.queued.is_some();
        // Keys on one core (always so in cluster mode): the read starts in
        // the op that registers the waiter, on that core, so nothing comes
        // between its checks and its wait.
        if let (Some(block_ms), false, Some(first)) =
            (request.block_ms, in_transaction, keys.first())
        {
            let core = core_of(first);
            if keys.iter().all(|key| core_of(key) == core) {
                let timeout = (block_ms > 0).then(|| Duration::from_millis(block_ms));
                let wait = StreamWait {
                    request,
                    argv: crate::protocol::to_owned_args(argv),
                    from: std::sync::OnceLock::new(),
                };
                return self
                    .block_for_streams(keys, BlockKind::Stream(Arc::new(wait)), timeout)
                    .await;
            }
        }
        let group = request
            .group
            .as_ref()
            .map_or_else(Bytes::new, |(g, _)| g.clone());

        // Checks, in the order of the keys.
        let mut probe_args: Vec<Vec<Bytes>> = vec![vec![group.clone()]; cores];
        for key in &keys {
            probe_args[core_of(key)].push(key.clone());
        }
        let mut probes = self.per_key_replies(probe_args, 1, probe_core).await;
        let mut from = Vec::with_capacity(keys.len());
        let mut added = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            let probe = probes[core_of(key)]
                .next()
                .and_then(|reply| streams::probe_of(&reply));
            let Some(probe) = probe else {
                return Reply::error("ERR internal: a core did not answer the stream probe");
            };
            added.push(probe.signal_mark);
            match streams::check_key(&request, &probe, key, request.id_arg(argv, i)) {
                Ok(start) => from.push(start),
                Err(reply) => return reply,
            }
        }

        // Serve what can be served now, each core its keys.
        let (group_name, consumer) = request
            .group
            .clone()
            .unwrap_or_else(|| (Bytes::new(), Bytes::new()));
        let head = vec![
            Bytes::from(request.count.to_string()),
            Bytes::from_static(if request.noack { b"1" } else { b"0" }),
            group_name,
            consumer,
        ];
        let mut serve_args: Vec<Vec<Bytes>> = vec![head; cores];
        for (key, start) in keys.iter().zip(&from) {
            let start = match start {
                ReadFrom::After(id) => id.to_bytes(),
                ReadFrom::New => Bytes::from_static(b">"),
            };
            serve_args[core_of(key)].extend([key.clone(), start]);
        }
        let mut served = self.per_key_replies(serve_args, 4, serve_core).await;
        let mut pairs = Vec::new();
        for key in &keys {
            match served[core_of(key)].next() {
                Some(Reply::Nil) | None => {}
                Some(entries) => pairs.push((Reply::Bulk(key.clone()), entries)),
            }
        }
        if !pairs.is_empty() {
            return Reply::KeyedMap(pairs);
        }
        let Some(block_ms) = request.block_ms else {
            return Reply::NilArray;
        };
        // Inside MULTI/EXEC (and scripts) a read does not block.
        if in_transaction {
            return Reply::NilArray;
        }
        let timeout = (block_ms > 0).then(|| Duration::from_millis(block_ms));
        let wait = StreamWait {
            request,
            argv: Vec::new(),
            from: keys
                .iter()
                .cloned()
                .zip(from)
                .zip(added)
                .map(|((key, from), added)| (key, from, added))
                .collect::<Vec<_>>()
                .into(),
        };
        self.block_for_streams(keys, BlockKind::Stream(Arc::new(wait)), timeout)
            .await
    }
}

impl Conn {
    /// Runs `run` on each core whose arguments go past their `head` (the
    /// arguments every core gets), all at once; per core, its per-key
    /// replies in order.
    async fn per_key_replies(
        &self,
        args: Vec<Vec<Bytes>>,
        head: usize,
        run: super::mesh::CoreFn,
    ) -> Vec<std::vec::IntoIter<Reply>> {
        let ops = args
            .into_iter()
            .map(|a| (a.len() > head).then(|| Op::Core(run, a)))
            .collect();
        self.on_each(ops)
            .await
            .into_iter()
            .map(|reply| match reply {
                Some(Reply::Array(items)) => items.into_iter(),
                _ => Vec::new().into_iter(),
            })
            .collect()
    }
}

/// `streams::probe_local` on this core's database, at this moment.
fn probe_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let mut db = core.db.borrow_mut();
    db.refresh_clock();
    streams::probe_local(&mut db, argv)
}

/// `streams::serve_local` at this moment, publishing the keyspace events
/// it raised (a consumer created by a group read).
fn serve_core(core: &Core, argv: &[Arg<'_>]) -> Reply {
    let reply = {
        let mut db = core.db.borrow_mut();
        db.refresh_clock();
        streams::serve_local(&mut db, argv)
    };
    core.publish_events();
    reply
}
