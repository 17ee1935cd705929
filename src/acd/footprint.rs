//! Memory accounting for one waiting caller, from the real type sizes (printed by the bench).
//! Per waiting call the engine holds: the `Call` in a `HashMap` (plus its key and one control
//! byte), two `BTreeMap` entries (the queue's `all` list and one stage bucket), and up to two
//! heap timers (next step, max wait). B-tree nodes hold up to 11 entries and are on average
//! about 2/3 full, so an entry costs about 1.5× its size; hash tables keep a load factor of at
//! most 7/8, so about 8/7× per slot.

use super::call::{Call, CallState};
use super::ids::CallId;
use super::timers::Timer;
use super::waiting::WaitKey;

#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    pub call_struct: usize,
    pub hash_slot: usize,
    pub btree_entries: usize,
    pub timers: usize,
}

impl Footprint {
    pub fn per_waiting_call() -> Footprint {
        let call = std::mem::size_of::<Call>();
        let slot = std::mem::size_of::<(CallId, Call)>() + 1;
        let entry = std::mem::size_of::<(WaitKey, CallId)>();
        let timer = std::mem::size_of::<(std::time::Instant, u64, Timer)>();
        let _ = std::mem::size_of::<CallState>();
        Footprint {
            call_struct: call,
            hash_slot: slot * 8 / 7,
            btree_entries: 2 * entry * 3 / 2,
            timers: 2 * timer,
        }
    }

    pub fn total(&self) -> usize {
        self.hash_slot + self.btree_entries + self.timers
    }
}
