//! Playing prompts and music on hold into a call: 20 ms G.711 frames from a list of
//! prompts, once or looping, as RTP packets of our own. Sans-IO: the relay calls
//! `next_packet` on its 20 ms tick and sends what it gets (through the side's rewriter, so
//! the far end sees the same continuous stream as relayed audio).

use super::prompt::Prompt;

/// G.711 law of the call (payload type 0 or 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    Pcmu,
    Pcma,
}

impl Law {
    pub fn payload_type(self) -> u8 {
        match self {
            Law::Pcmu => 0,
            Law::Pcma => 8,
        }
    }

    fn silence(self) -> u8 {
        match self {
            Law::Pcmu => 0xff,
            Law::Pcma => 0xd5,
        }
    }
}

pub const FRAME: usize = 160;
pub const PACKET: usize = 12 + FRAME;
/// The SSRC our generated stream carries before the rewriter gives it the side's SSRC;
/// every player gets its own (mixed with its seed) so the rewriter re-bases sequence and
/// timestamp when one prompt follows another: a far end must never see a jump.
const PLAYER_SSRC: u32 = 0x504c_4159;

pub struct Player {
    prompts: Vec<Prompt>,
    law: Law,
    looping: bool,
    /// Which prompt, and the byte offset in it.
    index: usize,
    offset: usize,
    seq: u16,
    ts: u32,
    first: bool,
    ssrc: u32,
    /// What the caller asked to be told when it ends.
    pub id: u64,
}

impl Player {
    pub fn new(prompts: Vec<Prompt>, law: Law, looping: bool, id: u64, seed: u32) -> Self {
        Player {
            prompts,
            law,
            looping,
            index: 0,
            offset: 0,
            seq: seed as u16,
            ts: seed.rotate_left(13),
            first: true,
            ssrc: PLAYER_SSRC ^ seed.rotate_left(5) ^ (id as u32),
            id,
        }
    }

    /// The next 20 ms packet, or None when everything was played (never, when looping).
    pub fn next_packet(&mut self, out: &mut [u8; PACKET]) -> Option<()> {
        loop {
            let p = self.prompts.get(self.index)?;
            let audio = match self.law {
                Law::Pcmu => &p.pcmu,
                Law::Pcma => &p.pcma,
            };
            if self.offset < audio.len() {
                let end = (self.offset + FRAME).min(audio.len());
                let chunk = &audio[self.offset..end];
                out[12..12 + chunk.len()].copy_from_slice(chunk);
                out[12 + chunk.len()..].fill(self.law.silence());
                self.offset = end;
                break;
            }
            self.index += 1;
            self.offset = 0;
            if self.index >= self.prompts.len() {
                if !self.looping || self.prompts.iter().all(|p| p.pcmu.is_empty()) {
                    return None;
                }
                self.index = 0;
            }
        }
        out[0] = 0x80;
        out[1] = self.law.payload_type() | if self.first { 0x80 } else { 0 };
        out[2..4].copy_from_slice(&self.seq.to_be_bytes());
        out[4..8].copy_from_slice(&self.ts.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        self.first = false;
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(FRAME as u32);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(name: &str, n: usize, value: i16) -> Prompt {
        Prompt::from_samples(name, &vec![value; n])
    }

    #[test]
    fn plays_prompts_in_order_padding_the_last_frame() {
        let a = prompt("a", 320, 1000);
        let b = prompt("b", 100, -1000);
        let mut p = Player::new(vec![a.clone(), b.clone()], Law::Pcmu, false, 7, 0);
        let mut buf = [0u8; PACKET];
        let mut packets = Vec::new();
        while p.next_packet(&mut buf).is_some() {
            packets.push(buf);
        }
        assert_eq!(packets.len(), 3);
        assert_eq!(packets[0][1], 0x80, "marker on the first packet, PT 0");
        assert_eq!(packets[1][1], 0x00);
        assert_eq!(&packets[2][12..112], &b.pcmu[..]);
        assert!(
            packets[2][112..].iter().all(|x| *x == 0xff),
            "µ-law silence pad"
        );
        let seqs: Vec<u16> = packets
            .iter()
            .map(|p| u16::from_be_bytes([p[2], p[3]]))
            .collect();
        assert_eq!(seqs, vec![0, 1, 2]);
        let ts: Vec<u32> = packets
            .iter()
            .map(|p| u32::from_be_bytes([p[4], p[5], p[6], p[7]]))
            .collect();
        assert_eq!(ts[1].wrapping_sub(ts[0]), 160);
    }

    #[test]
    fn looping_never_ends_and_pcma_uses_its_own_bytes() {
        let a = prompt("moh", 160, 500);
        let mut p = Player::new(vec![a.clone()], Law::Pcma, true, 1, 99);
        let mut buf = [0u8; PACKET];
        for _ in 0..50 {
            assert!(p.next_packet(&mut buf).is_some());
            assert_eq!(buf[1] & 0x7f, 8);
            assert_eq!(&buf[12..], &a.pcma[..]);
        }
        let mut empty = Player::new(vec![prompt("e", 0, 0)], Law::Pcmu, true, 1, 0);
        assert!(
            empty.next_packet(&mut buf).is_none(),
            "an empty loop must not spin"
        );
        let mut none = Player::new(Vec::new(), Law::Pcmu, true, 1, 0);
        assert!(none.next_packet(&mut buf).is_none());
    }

    #[test]
    fn each_player_has_its_own_source_so_the_rewriter_rebases() {
        let a = prompt("a", 160, 1);
        let mut buf = [0u8; PACKET];
        let mut p1 = Player::new(vec![a.clone()], Law::Pcmu, true, 1, 1234);
        let mut p2 = Player::new(vec![a], Law::Pcmu, true, 2, 98765);
        p1.next_packet(&mut buf).unwrap();
        let s1 = buf[8..12].to_vec();
        p2.next_packet(&mut buf).unwrap();
        assert_ne!(s1, buf[8..12].to_vec());
    }
}
