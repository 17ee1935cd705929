//! Call progress analysis inside the relay: side A's (the lead's) received G.711 payloads
//! go to the answering machine and SIT detectors (`dialer::amd`, sans-IO, no allocation
//! per frame), and the one decision becomes a media event for the loop. After it the
//! analysis is dropped: nothing more is spent on the call's packets. A machine that is to
//! get a message gets a second, separate analysis: the wait for its beep (`BeepWait`).

use std::time::Instant;

use crate::dialer::amd::{Amd, BeepWait, SitDetector};
use crate::dialer::amd_config::AmdConfig;
use crate::sdp::CodecName;
use crate::sip::endpoint::calls::MediaEvent;

/// What the relay listens for on one call.
#[derive(Debug)]
pub struct Analysis {
    amd: Option<Amd>,
    sit: Option<SitDetector>,
    /// After a MACHINE verdict with `machine_action = "message"`: when to start it.
    beep: Option<BeepWait>,
}

/// What one step of the analysis found.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Nothing yet: keep feeding.
    Listening,
    /// The decision (report it and drop the analysis).
    Decided(MediaEvent),
}

impl Analysis {
    /// AMD from `now` (the answer) if `amd` is given; the SIT detector if `sit`. `None`
    /// when there is nothing to do.
    pub fn new(now: Instant, amd: Option<&AmdConfig>, sit: bool) -> Option<Self> {
        let a = Analysis {
            amd: amd.map(|c| Amd::new(c, now)),
            sit: sit.then(SitDetector::new),
            beep: None,
        };
        (a.amd.is_some() || a.sit.is_some()).then_some(a)
    }

    /// Wait from `now` (the MACHINE verdict) for the moment to start the message: the end
    /// of the voicemail's beep, silence, or the max wait (`MediaEvent::MessageCue`).
    pub fn await_beep(now: Instant, amd: &AmdConfig) -> Self {
        Analysis {
            amd: None,
            sit: None,
            beep: Some(BeepWait::new(amd, now)),
        }
    }

    /// One RTP payload from the lead, by payload type (only static G.711 is audio to us;
    /// telephone-events, comfort noise and the like are skipped).
    pub fn handle_payload(&mut self, now: Instant, payload_type: u8, payload: &[u8]) -> Step {
        let codec = match payload_type {
            0 => CodecName::Pcmu,
            8 => CodecName::Pcma,
            _ => return self.handle_timeout(now),
        };
        if let Some(s) = self.sit.as_mut() {
            s.handle_payload(now, codec, payload);
        }
        if let Some(a) = self.amd.as_mut() {
            a.handle_payload(now, codec, payload);
        }
        if let Some(b) = self.beep.as_mut() {
            b.handle_payload(now, codec, payload);
        }
        self.step()
    }

    /// The clock guard (no RTP at all): AMD still ends at its total analysis time.
    pub fn handle_timeout(&mut self, now: Instant) -> Step {
        if let Some(a) = self.amd.as_mut() {
            a.handle_timeout(now);
        }
        if let Some(b) = self.beep.as_mut() {
            b.handle_timeout(now);
        }
        self.step()
    }

    fn step(&mut self) -> Step {
        // A SIT is followed by a recorded announcement, which AMD calls a machine: the SIT
        // wins, so it is read first.
        if let Some(s) = self.sit.as_mut().and_then(SitDetector::poll_result) {
            return Step::Decided(MediaEvent::SitDetected {
                category: s.category,
            });
        }
        if let Some(r) = self.amd.as_mut().and_then(Amd::poll_result) {
            return Step::Decided(MediaEvent::Amd(r));
        }
        if let Some(r) = self.beep.as_mut().and_then(BeepWait::poll_result) {
            return Step::Decided(MediaEvent::MessageCue(r));
        }
        Step::Listening
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::dialer::amd::corpus::{amd_clips, sit_clips, Truth};
    use crate::dialer::amd::{SitCategory, Verdict};
    use crate::media::g711::ulaw_encode;

    /// Feeds `audio` as 20 ms PCMU payloads on a virtual clock; the first decision.
    fn run(mut a: Analysis, t0: Instant, audio: &[i16]) -> Option<(usize, MediaEvent)> {
        let mut payload = [0u8; 160];
        for (i, frame) in audio.chunks(160).enumerate() {
            for (o, s) in payload.iter_mut().zip(frame) {
                *o = ulaw_encode(*s);
            }
            let now = t0 + Duration::from_millis(20 * i as u64);
            if let Step::Decided(ev) = a.handle_payload(now, 0, &payload[..frame.len()]) {
                return Some((i, ev));
            }
        }
        None
    }

    fn clip(family: &str) -> Vec<i16> {
        amd_clips(1, 3)
            .into_iter()
            .find(|c| c.family == family)
            .expect("the corpus has the family")
            .audio
    }

    #[test]
    fn pcmu_frames_of_a_machine_greeting_give_the_machine_event() {
        let t0 = Instant::now();
        let cfg = AmdConfig::default();
        let a = Analysis::new(t0, Some(&cfg), true).unwrap();
        let (frame, ev) = run(a, t0, &clip("greeting")).expect("a decision");
        match ev {
            MediaEvent::Amd(r) => assert_eq!(r.verdict, Verdict::Machine, "{r:?}"),
            other => panic!("expected an AMD verdict, got {other:?}"),
        }
        assert!(frame * 20 <= 5000, "decided within total_analysis_ms");
    }

    #[test]
    fn a_short_hello_is_human() {
        let t0 = Instant::now();
        let a = Analysis::new(t0, Some(&AmdConfig::default()), true).unwrap();
        let (_, ev) = run(a, t0, &clip("hello")).expect("a decision");
        assert!(
            matches!(ev, MediaEvent::Amd(r) if r.verdict == Verdict::Human),
            "{ev:?}"
        );
    }

    #[test]
    fn a_sit_wins_over_amd_and_names_its_category() {
        let t0 = Instant::now();
        let c = sit_clips(1, 1)
            .into_iter()
            .find(|c| c.truth == Truth::Sit(SitCategory::VacantCode, false))
            .expect("a VC clip");
        let a = Analysis::new(t0, Some(&AmdConfig::default()), true).unwrap();
        let (_, ev) = run(a, t0, &c.audio).expect("a decision");
        assert_eq!(
            ev,
            MediaEvent::SitDetected {
                category: SitCategory::VacantCode
            }
        );
    }

    #[test]
    fn no_audio_ends_as_not_sure_on_the_clock_and_dtmf_is_not_audio() {
        let t0 = Instant::now();
        let mut a = Analysis::new(t0, Some(&AmdConfig::default()), false).unwrap();
        // A telephone-event payload is not fed to the detectors.
        assert_eq!(
            a.handle_payload(t0, 101, &[1, 0x80, 0, 160]),
            Step::Listening
        );
        assert_eq!(
            a.handle_timeout(t0 + Duration::from_millis(4999)),
            Step::Listening
        );
        match a.handle_timeout(t0 + Duration::from_millis(5000)) {
            Step::Decided(MediaEvent::Amd(r)) => assert_eq!(r.verdict, Verdict::NotSure),
            other => panic!("{other:?}"),
        }
        assert!(Analysis::new(t0, None, false).is_none(), "nothing to do");
    }
    #[test]
    fn after_the_verdict_the_beep_cues_the_message() {
        use crate::dialer::amd::corpus::Synth;
        use crate::dialer::amd::Cue;
        let mut s = Synth::new(3, 3, 3);
        s.word(600.0, 6000.0);
        s.silence(300.0);
        s.tone(&[1000.0], 300.0, 8000.0);
        s.silence(2000.0);
        let t0 = Instant::now();
        let a = Analysis::await_beep(t0, &AmdConfig::default());
        match run(a, t0, &s.finish()) {
            Some((frame, MediaEvent::MessageCue(r))) => {
                assert_eq!(r.cue, Cue::Beep, "{r:?}");
                assert!((60..=62).contains(&frame), "cued at frame {frame}");
            }
            other => panic!("{other:?}"),
        }
    }
}
