//! Helpers shared by the unit tests of the sans-IO cores.

use std::time::Instant;

/// A sans-IO core's timer, as its driver sees it.
pub trait Timed {
    fn next_timeout(&self) -> Option<Instant>;
    /// What the driver does when the deadline passes (`handle_timeout` and any polling the
    /// driver always does after it).
    fn fire(&mut self, now: Instant);
}

/// Leave `core` alone from now on, waking it only at its own deadlines until `horizon`: it
/// must never hand back a deadline it was already woken for (the driver would wake, handle
/// and sleep on the same past instant forever: a core at 100 %) and must wake at most
/// `max_wakes` times. Returns how often it woke.
pub fn assert_goes_quiet<T: Timed>(core: &mut T, horizon: Instant, max_wakes: usize) -> usize {
    let mut wakes = 0;
    let mut last: Option<Instant> = None;
    while let Some(t) = core.next_timeout() {
        if let Some(l) = last {
            assert!(
                t > l,
                "deadline {t:?} is not after the one just handled ({l:?}): the driver would spin"
            );
        }
        if t > horizon {
            break;
        }
        core.fire(t);
        wakes += 1;
        last = Some(t);
        assert!(
            wakes <= max_wakes,
            "core left alone woke more than {max_wakes} times before {horizon:?}"
        );
    }
    wakes
}
