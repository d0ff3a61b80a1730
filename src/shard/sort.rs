//! SORT and SORT_RO across cores. The value to sort is read on its core
//! under a shared lock (with STORE, the destination is locked exclusively
//! too, so other clients see the whole result or none of it). BY weights
//! and GET values come from whichever cores own the keys the patterns
//! name: one batch per core, all cores at once, without locks (as other
//! readers do). The ordering itself is `command::sort`'s pure code.

use super::conn::Conn;
use super::locks::Mode;
use super::mesh::Op;
use crate::cluster::{core_of_slot, key_hash_slot};
use crate::command::sort::{self, Lookup, Plan, SortOptions};
use crate::command::{keys, ShardFn};
use crate::protocol::Reply;
use crate::protocol::{to_owned_args, Arg};
use bytes::Bytes;

/// At most this many pattern keys go to one core in one op, so a large
/// SORT does not stall a core (or hold a huge message) in one go.
const LOOKUPS_PER_OP_MAX: usize = 4096;

/// One core's pending pattern lookups: the argv of its `lookup_local` op
/// and, for each key in it, where the answer goes.
struct Batch {
    argv: Vec<Bytes>,
    targets: Vec<usize>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            argv: vec![Bytes::new()],
            targets: Vec::new(),
        }
    }
}

impl Batch {
    fn add(&mut self, key: Bytes, field: Option<Bytes>, target: usize) {
        self.argv.extend([key, field.unwrap_or_default()]);
        self.targets.push(target);
    }
}

fn key_argv(key: &Bytes) -> Vec<Bytes> {
    vec![Bytes::new(), key.clone()]
}

impl Conn {
    pub async fn sort(&self, argv: &[Arg<'_>], readonly: bool) -> Reply {
        let args = argv;
        let argv: &[Bytes] = &to_owned_args(args);
        let options = match sort::parse(args, readonly, self.core.cluster_enabled) {
            Ok(options) => options,
            Err(reply) => return reply,
        };
        let source = &argv[1];
        let mut locks = vec![(source, Mode::Shared)];
        if let Some(destination) = &options.store {
            locks.push((destination, Mode::Exclusive));
        }
        let (transaction, cores) = self.lock_keys(&locks).await;
        let reply = self.sort_locked(transaction, source, &options).await;
        self.unlock(transaction, &cores).await;
        reply
    }

    /// Runs a read on `key`'s core. The coordinator holds the key's lock,
    /// so no other client writes it meanwhile; a plain op (not `locked`)
    /// keeps reads from counting as writes for WATCH.
    async fn read_on(&self, run: ShardFn, argv: Vec<Bytes>, key: &[u8]) -> Reply {
        let core = core_of_slot(key_hash_slot(key), self.core.cores());
        self.on_core(core, Op::Db(run, argv)).await
    }

    async fn sort_locked(&self, transaction: u64, source: &Bytes, options: &SortOptions) -> Reply {
        let read = self
            .read_on(sort::source_local, key_argv(source), source)
            .await;
        let (kind, elements) = match sort::parse_source_reply(read) {
            Ok(loaded) => loaded,
            Err(reply) => return reply,
        };
        let plan = Plan::new(options, kind);
        let weights = match &plan.by {
            Some(pattern) => {
                let lookups = elements
                    .iter()
                    .map(|element| sort::substitute(pattern, element));
                Some(self.look_up(lookups, &elements).await)
            }
            None => None,
        };
        let limit = (options.limit_start, options.limit_count);
        let selected = match sort::order(elements, weights, &plan, limit) {
            Ok(selected) => selected,
            Err(reply) => return reply,
        };
        let rows = self.rows(&options.gets, selected).await;
        match &options.store {
            None => Reply::Array(
                rows.into_iter()
                    .map(|r| r.map_or(Reply::Nil, Reply::Bulk))
                    .collect(),
            ),
            Some(destination) => self.sort_store(transaction, destination, rows).await,
        }
    }

    /// The output rows: the elements themselves, or one row per GET pattern
    /// and element (element by element).
    async fn rows(&self, gets: &[Bytes], selected: Vec<Bytes>) -> Vec<Option<Bytes>> {
        if gets.is_empty() {
            return selected.into_iter().map(Some).collect();
        }
        let mut subjects = Vec::with_capacity(selected.len() * gets.len());
        let mut lookups = Vec::with_capacity(selected.len() * gets.len());
        for element in &selected {
            for pattern in gets {
                subjects.push(element.clone());
                lookups.push(sort::substitute(pattern, element));
            }
        }
        self.look_up(lookups.into_iter(), &subjects).await
    }

    /// The values the lookups name (`elements[i]` for `Itself`), fetched
    /// from their cores in batches, all cores at once.
    async fn look_up(
        &self,
        lookups: impl Iterator<Item = Lookup>,
        elements: &[Bytes],
    ) -> Vec<Option<Bytes>> {
        let cores = self.core.cores();
        let mut values: Vec<Option<Bytes>> = Vec::with_capacity(elements.len());
        let mut pending: Vec<Batch> = (0..cores).map(|_| Batch::default()).collect();
        for (index, lookup) in lookups.enumerate() {
            match lookup {
                Lookup::Itself => values.push(elements.get(index).cloned()),
                Lookup::Nothing => values.push(None),
                Lookup::Key { key, field } => {
                    values.push(None);
                    let core = core_of_slot(key_hash_slot(&key), cores);
                    pending[core].add(key, field, index);
                    if pending[core].targets.len() >= LOOKUPS_PER_OP_MAX {
                        let mut full: Vec<Batch> = (0..cores).map(|_| Batch::default()).collect();
                        std::mem::swap(&mut full[core], &mut pending[core]);
                        self.fetch(full, &mut values).await;
                    }
                }
            }
        }
        self.fetch(pending, &mut values).await;
        values
    }

    /// Runs each core's batch (`batches[core]`), all at once, and puts the
    /// answers where they belong in `values`.
    async fn fetch(&self, batches: Vec<Batch>, values: &mut [Option<Bytes>]) {
        if batches.iter().all(|batch| batch.targets.is_empty()) {
            return;
        }
        let mut ops = Vec::with_capacity(batches.len());
        let mut targets = Vec::with_capacity(batches.len());
        for batch in batches {
            ops.push((!batch.targets.is_empty()).then(|| Op::Db(sort::lookup_local, batch.argv)));
            targets.push(batch.targets);
        }
        let replies = self.on_each(ops).await;
        for (reply, targets) in replies.into_iter().zip(targets) {
            let Some(Reply::Array(found)) = reply else {
                continue;
            };
            for (value, target) in found.into_iter().zip(targets) {
                if let (Reply::Bulk(bytes), Some(slot)) = (value, values.get_mut(target)) {
                    *slot = Some(bytes);
                }
            }
        }
    }

    /// STORE: the rows (a missing GET value as an empty string) become the
    /// destination list; no rows delete it. Answers the row count.
    async fn sort_store(
        &self,
        transaction: u64,
        destination: &Bytes,
        rows: Vec<Option<Bytes>>,
    ) -> Reply {
        if rows.is_empty() {
            // Only an existing destination is deleted (and so touched for
            // WATCH), as in Redis.
            let exists = self
                .read_on(sort::exists_local, key_argv(destination), destination)
                .await;
            if exists == Reply::Int(1) {
                self.locked(
                    transaction,
                    keys::del_local,
                    key_argv(destination),
                    destination,
                )
                .await;
            }
            return Reply::Int(0);
        }
        let mut argv = Vec::with_capacity(rows.len() + 2);
        argv.extend([Bytes::new(), destination.clone()]);
        argv.extend(rows.into_iter().map(Option::unwrap_or_default));
        self.locked(transaction, sort::store_local, argv, destination)
            .await
    }
}

impl super::Core {
    /// SORT and SORT_RO inside a script: the whole command on this core,
    /// synchronously (a script cannot wait for other cores). Every key a
    /// BY or GET pattern names must be on this core as well.
    pub(super) fn sort_here(
        &self,
        spec: &'static crate::command::CommandSpec,
        argv: &[Arg<'_>],
        readonly: bool,
    ) -> Reply {
        let options = match sort::parse(argv, readonly, self.cluster_enabled) {
            Ok(options) => options,
            Err(reply) => return reply,
        };
        let reply = {
            let mut db = self.db.borrow_mut();
            self.sort_in(&mut db, argv, &options)
        };
        self.publish_events();
        self.after_write(spec, argv, &reply);
        crate::command::notify::coordinated_events(&mut self.db.borrow_mut(), spec, argv, &reply);
        self.publish_events();
        reply
    }

    fn sort_in(
        &self,
        db: &mut crate::command::Db,
        argv: &[Arg<'_>],
        options: &SortOptions,
    ) -> Reply {
        let source = argv[1].to_bytes();
        let read = sort::source_local(db, &crate::protocol::args_of(&key_argv(&source)));
        let (kind, elements) = match sort::parse_source_reply(read) {
            Ok(loaded) => loaded,
            Err(reply) => return reply,
        };
        let mut plan = Plan::new(options, kind);
        // A set has no order of its own: inside a script Redis sorts it
        // (ALPHA, no BY), as it does for STORE, so that every run of the
        // script sees the same order.
        if plan.dontsort && kind == sort::SourceKind::Set {
            plan.dontsort = false;
            plan.alpha = true;
            plan.by = None;
        }
        let weights = match &plan.by {
            Some(pattern) => {
                let lookups = elements.iter().map(|e| sort::substitute(pattern, e));
                match self.look_up_here(db, lookups, &elements) {
                    Ok(weights) => Some(weights),
                    Err(reply) => return reply,
                }
            }
            None => None,
        };
        let limit = (options.limit_start, options.limit_count);
        let selected = match sort::order(elements, weights, &plan, limit) {
            Ok(selected) => selected,
            Err(reply) => return reply,
        };
        let rows = if options.gets.is_empty() {
            selected.into_iter().map(Some).collect()
        } else {
            let mut subjects = Vec::with_capacity(selected.len() * options.gets.len());
            let mut lookups = Vec::with_capacity(selected.len() * options.gets.len());
            for element in &selected {
                for pattern in &options.gets {
                    subjects.push(element.clone());
                    lookups.push(sort::substitute(pattern, element));
                }
            }
            match self.look_up_here(db, lookups.into_iter(), &subjects) {
                Ok(rows) => rows,
                Err(reply) => return reply,
            }
        };
        let Some(destination) = &options.store else {
            return Reply::Array(
                rows.into_iter()
                    .map(|r| r.map_or(Reply::Nil, Reply::Bulk))
                    .collect(),
            );
        };
        let destination_argv = key_argv(destination);
        let destination_args = crate::protocol::args_of(&destination_argv);
        if rows.is_empty() {
            if sort::exists_local(db, &destination_args) == Reply::Int(1) {
                keys::del_local(db, &destination_args);
            }
            return Reply::Int(0);
        }
        let mut store = destination_argv;
        store.extend(rows.into_iter().map(Option::unwrap_or_default));
        sort::store_local(db, &crate::protocol::args_of(&store))
    }

    /// `look_up` on this core alone.
    fn look_up_here(
        &self,
        db: &mut crate::command::Db,
        lookups: impl Iterator<Item = Lookup>,
        elements: &[Bytes],
    ) -> Result<Vec<Option<Bytes>>, Reply> {
        let cores = self.cores();
        let mut values = Vec::with_capacity(elements.len());
        for (index, lookup) in lookups.enumerate() {
            values.push(match lookup {
                Lookup::Itself => elements.get(index).cloned(),
                Lookup::Nothing => None,
                Lookup::Key { key, field } => {
                    if core_of_slot(key_hash_slot(&key), cores) != self.id {
                        return Err(Reply::error(
                            "ERR a SORT pattern inside a script names a key on another core",
                        ));
                    }
                    let argv = [Bytes::new(), key, field.unwrap_or_default()];
                    match sort::lookup_local(db, &crate::protocol::args_of(&argv)) {
                        Reply::Array(mut found) => match found.pop() {
                            Some(Reply::Bulk(bytes)) => Some(bytes),
                            _ => None,
                        },
                        _ => None,
                    }
                }
            });
        }
        Ok(values)
    }
}
