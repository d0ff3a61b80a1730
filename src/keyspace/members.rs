//! A set's members once they are not an intset: a dense vector of the
//! members and a hash table of their positions in it. Lookups cost what a
//! hash set's do; a member at random is one index into the vector (SPOP,
//! SRANDMEMBER: O(1), as Redis's `dictGetFairRandomKey`, where a hash set
//! has to walk its table); a removal moves the last member into the hole.

use super::SeededState;
use bytes::Bytes;
use hashbrown::HashTable;
use std::hash::BuildHasher;

#[derive(Clone, Default)]
pub struct MemberTable {
    members: Vec<Bytes>,
    positions: HashTable<u32>,
}

fn hash(member: &[u8]) -> u64 {
    SeededState.hash_one(member)
}

impl MemberTable {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        let members = &self.members;
        self.positions
            .find(hash(member), |&at| members[at as usize] == member)
            .is_some()
    }

    /// Adds `member` (taken as it is: the caller copies a borrowed one);
    /// true when it is new.
    pub fn insert(&mut self, member: Bytes) -> bool {
        let members = &self.members;
        // One probe: found, or the slot the new position goes in.
        let entry = self.positions.entry(
            hash(&member),
            |&at| members[at as usize] == member,
            |&at| hash(&members[at as usize]),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                vacant.insert(self.members.len() as u32);
                self.members.push(member);
                true
            }
        }
    }

    /// Removes `member`; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        let members = &self.members;
        let Ok(entry) = self
            .positions
            .find_entry(hash(member), |&at| members[at as usize] == member)
        else {
            return false;
        };
        let (at, _) = entry.remove();
        let at = at as usize;
        let last = self.members.len() - 1;
        if at != last {
            // The last member moves into the hole: its position changes.
            let moved = hash(&self.members[last]);
            if let Some(position) = self
                .positions
                .find_mut(moved, |&position| position as usize == last)
            {
                *position = at as u32;
            }
        }
        self.members.swap_remove(at);
        if self.members.len() < self.members.capacity() / 4 && self.members.capacity() > 64 {
            self.members.shrink_to(self.members.len() * 2);
            let members = &self.members;
            self.positions
                .shrink_to(members.len(), |&at| hash(&members[at as usize]));
        }
        true
    }

    /// The member at `position` (below `len`): the members in no
    /// particular order, for a pick at random.
    pub fn get(&self, position: usize) -> &Bytes {
        &self.members[position]
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Bytes> {
        self.members.iter()
    }

    /// Bytes the structure takes besides the members' own bytes: the
    /// vector's slots and the table's positions and control bytes.
    pub fn overhead_bytes(&self) -> usize {
        let buckets = (self.positions.capacity() * 8 / 7).next_power_of_two();
        self.members.capacity() * std::mem::size_of::<Bytes>() + buckets * 5
    }
}

impl FromIterator<Bytes> for MemberTable {
    fn from_iter<I: IntoIterator<Item = Bytes>>(members: I) -> Self {
        let mut table = MemberTable::default();
        for member in members {
            table.insert(member);
        }
        table
    }
}

impl<'a> IntoIterator for &'a MemberTable {
    type Item = &'a Bytes;
    type IntoIter = std::slice::Iter<'a, Bytes>;

    fn into_iter(self) -> Self::IntoIter {
        self.members.iter()
    }
}

impl std::fmt::Debug for MemberTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.members.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inserts and removals in every order keep each member findable at
    /// its position, against a std HashSet as the model.
    #[test]
    fn positions_follow_every_removal() {
        let mut table = MemberTable::default();
        let mut model = std::collections::HashSet::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for step in 0..20_000u32 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let member = Bytes::from(format!("m{}", seed % 500));
            if step % 3 == 0 {
                assert_eq!(
                    table.remove(&member),
                    model.remove(&member),
                    "remove {member:?}"
                );
            } else {
                assert_eq!(table.insert(member.clone()), model.insert(member), "insert");
            }
            assert_eq!(table.len(), model.len());
        }
        for member in &model {
            assert!(table.contains(member), "{member:?}");
        }
        for (position, member) in table.iter().enumerate() {
            assert_eq!(table.get(position), member);
            assert!(model.contains(member));
        }
        // Emptied, it shrinks and still works.
        for member in model.drain() {
            assert!(table.remove(&member));
        }
        assert!(table.is_empty());
        assert!(table.insert(Bytes::from_static(b"again")));
        assert!(table.contains(b"again"));
    }
}
