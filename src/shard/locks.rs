//! Key locks for commands that span cores.
//!
//! A multi-core command (MSET over keys on two cores, MGET, DEL, RENAME...)
//! takes locks on its keys core by core, always in ascending core order,
//! then applies its parts and releases them. Any other command that touches
//! a locked key on that core waits until the release, so no client ever
//! sees part of a multi-core write, and ordered acquisition means two such
//! commands cannot deadlock. Shared locks (reads) do not block each other
//! or single-key reads. Commands on unlocked keys pay one emptiness check.
//!
//! A snapshot (SAVE, BGSAVE) fences every core, again in ascending order:
//! a fenced core lets only the transactions already holding locks there
//! go on, and the fence is in place once they are done. With every core
//! fenced no multi-core write is half applied anywhere, so the cores'
//! keyspaces together are one consistent state (see `persist`). A manual
//! failover's settle fences the same way; fences are kept per owner, so
//! two at once (a snapshot's and a settle's) each come down on their own.

use bytes::Bytes;
use std::cell::RefCell;
use std::collections::HashMap;
use std::task::Waker;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Shared,
    Exclusive,
}

#[derive(Default)]
struct Held {
    exclusive: Option<u64>,
    shared: Vec<u64>,
}

#[derive(Default)]
pub struct KeyLocks {
    held: HashMap<Bytes, Held, foldhash::fast::RandomState>,
    by_transaction: HashMap<u64, Vec<Bytes>, foldhash::fast::RandomState>,
    waiters: RefCell<Vec<Waker>>,
    /// The fences on this core (a snapshot's, a failover settle's): every
    /// key is theirs, except for the transactions that held locks here when
    /// they came.
    fences: Vec<u64>,
}

impl KeyLocks {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.held.is_empty() && self.fences.is_empty()
    }

    /// True if an access in `mode` to `key` by `transaction` (0 for a
    /// plain command) must wait.
    pub fn blocks(&self, key: &[u8], mode: Mode, transaction: u64) -> bool {
        if self.fences.iter().any(|&owner| owner != transaction)
            && !self.by_transaction.contains_key(&transaction)
        {
            return true;
        }
        let Some(held) = self.held.get(key) else {
            return false;
        };
        let foreign_exclusive = held.exclusive.is_some_and(|owner| owner != transaction);
        let foreign_shared = held.shared.iter().any(|&owner| owner != transaction);
        foreign_exclusive || (mode == Mode::Exclusive && foreign_shared)
    }

    /// Takes every lock or none: false (and nothing taken) if one conflicts.
    pub fn try_lock_all(&mut self, transaction: u64, keys: &[Bytes], mode: Mode) -> bool {
        if keys.iter().any(|key| self.blocks(key, mode, transaction)) {
            return false;
        }
        for key in keys {
            let held = self.held.entry(key.clone()).or_default();
            match mode {
                Mode::Exclusive => held.exclusive = Some(transaction),
                Mode::Shared => held.shared.push(transaction),
            }
            self.by_transaction
                .entry(transaction)
                .or_default()
                .push(key.clone());
        }
        true
    }

    /// The keys `transaction` holds exclusively here (the ones it writes).
    pub fn exclusive_keys(&self, transaction: u64) -> Vec<Bytes> {
        self.by_transaction
            .get(&transaction)
            .map(|keys| {
                keys.iter()
                    .filter(|key| {
                        self.held
                            .get(*key)
                            .is_some_and(|held| held.exclusive == Some(transaction))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Releases everything `transaction` holds here and wakes the waiters.
    pub fn unlock_all(&mut self, transaction: u64) {
        for key in self.by_transaction.remove(&transaction).unwrap_or_default() {
            if let Some(held) = self.held.get_mut(&key) {
                if held.exclusive == Some(transaction) {
                    held.exclusive = None;
                }
                held.shared.retain(|&owner| owner != transaction);
                if held.exclusive.is_none() && held.shared.is_empty() {
                    self.held.remove(&key);
                }
            }
        }
        for waker in self.waiters.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    /// Puts up `snapshot`'s fence; true once no other transaction holds a
    /// lock here, the fence being in place then.
    pub fn fence(&mut self, snapshot: u64) -> bool {
        if !self.fences.contains(&snapshot) {
            self.fences.push(snapshot);
        }
        self.held.is_empty()
    }

    /// Takes `snapshot`'s fence down and wakes whoever waited at it.
    pub fn remove_fence(&mut self, snapshot: u64) {
        self.fences.retain(|&owner| owner != snapshot);
        for waker in self.waiters.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    pub fn wait(&self, waker: &Waker) {
        self.waiters.borrow_mut().push(waker.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(names: &[&'static str]) -> Vec<Bytes> {
        names
            .iter()
            .map(|n| Bytes::from_static(n.as_bytes()))
            .collect()
    }

    #[test]
    fn exclusive_blocks_everyone_else_shared_blocks_writers() {
        let mut locks = KeyLocks::default();
        assert!(locks.try_lock_all(1, &keys(&["a", "b"]), Mode::Exclusive));
        assert!(locks.blocks(b"a", Mode::Shared, 0));
        assert!(!locks.blocks(b"a", Mode::Exclusive, 1), "the owner passes");
        assert!(!locks.blocks(b"c", Mode::Exclusive, 0));
        assert!(
            !locks.try_lock_all(2, &keys(&["c", "b"]), Mode::Shared),
            "all or nothing"
        );
        assert!(!locks.blocks(b"c", Mode::Exclusive, 0), "nothing was taken");
        locks.unlock_all(1);
        assert!(locks.is_empty());
        assert!(locks.try_lock_all(2, &keys(&["a"]), Mode::Shared));
        assert!(locks.try_lock_all(3, &keys(&["a"]), Mode::Shared));
        assert!(!locks.blocks(b"a", Mode::Shared, 0));
        assert!(locks.blocks(b"a", Mode::Exclusive, 0));
        locks.unlock_all(2);
        locks.unlock_all(3);
        assert!(locks.is_empty());
    }

    #[test]
    fn a_fence_lets_only_the_transactions_already_in_pass() {
        let mut locks = KeyLocks::default();
        assert!(locks.try_lock_all(1, &keys(&["a"]), Mode::Exclusive));
        assert!(!locks.fence(9), "transaction 1 still holds a lock");
        assert!(!locks.is_empty());
        assert!(locks.blocks(b"z", Mode::Shared, 0), "plain commands wait");
        assert!(!locks.try_lock_all(2, &keys(&["z"]), Mode::Shared));
        assert!(
            !locks.blocks(b"b", Mode::Exclusive, 1),
            "the holder goes on"
        );
        assert!(locks.try_lock_all(1, &keys(&["b"]), Mode::Exclusive));
        locks.unlock_all(1);
        assert!(locks.fence(9), "drained: the fence is in place");
        assert!(!locks.blocks(b"a", Mode::Exclusive, 9), "its owner passes");
        locks.remove_fence(9);
        assert!(locks.is_empty());
        assert!(!locks.blocks(b"z", Mode::Shared, 0));
    }

    #[test]
    fn two_fences_come_down_each_on_its_own() {
        let mut locks = KeyLocks::default();
        assert!(locks.fence(7), "a snapshot's fence");
        assert!(locks.fence(9), "a failover settle's fence");
        locks.remove_fence(7);
        assert!(
            locks.blocks(b"k", Mode::Shared, 0),
            "the settle's fence stays up after the snapshot's came down"
        );
        assert!(!locks.try_lock_all(1, &keys(&["k"]), Mode::Exclusive));
        locks.remove_fence(9);
        assert!(locks.is_empty());
        assert!(locks.try_lock_all(1, &keys(&["k"]), Mode::Exclusive));
    }
}
