//! RTP port pairs (even RTP port, RTCP on the odd port above), handed out round-robin so a
//! port just freed is not reused at once (late packets of the old call land nowhere).

use std::collections::{HashSet, VecDeque};

pub struct PortPool {
    free: VecDeque<u16>,
    used: HashSet<u16>,
}

impl PortPool {
    pub fn new(min: u16, max: u16) -> Self {
        let first = min + (min % 2);
        let free = (first..max).step_by(2).collect();
        PortPool {
            free,
            used: HashSet::new(),
        }
    }

    pub fn take(&mut self) -> Option<u16> {
        let p = self.free.pop_front()?;
        self.used.insert(p);
        Some(p)
    }

    /// Two pairs for a call's two sides, or none (nothing is taken then).
    pub fn take_pair(&mut self) -> Option<(u16, u16)> {
        if self.free.len() < 2 {
            return None;
        }
        Some((self.take()?, self.take()?))
    }

    pub fn give_back(&mut self, port: u16) {
        if self.used.remove(&port) {
            self.free.push_back(port);
        }
    }

    pub fn available(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_pairs_round_robin() {
        let mut p = PortPool::new(20001, 20008);
        assert_eq!(p.available(), 3); // 20002, 20004, 20006 (20008 has no RTCP port)
        let a = p.take().unwrap();
        assert_eq!(a, 20002);
        p.give_back(a);
        assert_eq!(p.take(), Some(20004));
        p.give_back(20004);
        p.give_back(20004); // double free is ignored
        assert_eq!(p.available(), 3);
        let (a, b) = p.take_pair().unwrap();
        assert_ne!(a, b);
        assert_eq!(
            p.take_pair(),
            None,
            "one pair left is not enough for a call"
        );
        assert_eq!(p.available(), 1);
    }
}
