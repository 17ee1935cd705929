//! Special information tones (SIT, Telcordia GR-1162 / ANSI T1.401): three tone segments
//! before a network announcement, whose frequencies (low/high) and lengths (short 274 ms /
//! long 380 ms) say why the call failed. Each 20 ms frame is labelled with the SIT frequency
//! holding most of its energy (Goertzel), runs of one label become segments, and three
//! segments in the three bands, back to back, are a SIT.

use std::time::Instant;

use super::detector::for_each_decoded;
use super::frame::{purity, Framer, Goertzel, FRAME_MS, FRAME_SAMPLES};
use crate::sdp::CodecName;

/// The five SIT frequencies: segment 1 low/high, segment 2 low/high, segment 3.
const FREQS: [f32; 5] = [913.8, 985.2, 1370.6, 1428.5, 1776.7];
/// Below this mean power (RMS 100, about -47 dBm0) a frame is too quiet to be a tone.
const MIN_MEAN_POWER: f32 = 100.0 * 100.0;
/// A frame is a tone when this share of its energy sits at one SIT frequency (a tone 1 %
/// off its nominal frequency keeps ~0.65 over 20 ms; speech rarely exceeds 0.3).
const MIN_PURITY: f32 = 0.35;
/// ...and at least this many times the other frequency of its segment.
const MIN_BAND_RATIO: f32 = 2.0;
/// Segments of 200–480 ms (the nominal 274 and 380 ms, frame-quantised, with margin).
const MIN_SEGMENT_FRAMES: u16 = 10;
const MAX_SEGMENT_FRAMES: u16 = 24;
/// Up to 40 ms between segments (ITU allows 30 ms of silence; a boundary frame may mix).
const MAX_GAP_FRAMES: u16 = 2;
/// Shorter than this is a short (274 ms) segment, else long (380 ms).
const SHORT_BELOW_MS: u32 = 330;

/// The frequency half of a segment's band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Band {
    Low,
    High,
}

/// A segment's length class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Length {
    Short,
    Long,
}

/// One of the three tone segments as heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SitSegment {
    pub band: Band,
    pub length: Length,
    /// Measured length (20 ms resolution).
    pub ms: u32,
}

/// What the network says, by the segment pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SitCategory {
    /// IC: number changed or disconnected (customer irregularity).
    Intercept,
    /// VC: unassigned number or code.
    VacantCode,
    /// RO: equipment irregularity, system busy.
    Reorder,
    /// NC: no circuit, trunk blockage, emergency.
    NoCircuit,
    /// A pattern reserved for future use.
    Reserved,
}

impl SitCategory {
    pub fn code(self) -> &'static str {
        match self {
            SitCategory::Intercept => "IC",
            SitCategory::VacantCode => "VC",
            SitCategory::Reorder => "RO",
            SitCategory::NoCircuit => "NC",
            SitCategory::Reserved => "RESERVED",
        }
    }

    /// The category of `code` (any case), as [`SitCategory::code`] writes it.
    pub fn from_code(code: &str) -> Option<SitCategory> {
        SitCategory::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code))
    }

    /// The category of a failed campaign dial's cause, `sit-<code>` in lower case (what
    /// `campaign_sit_detected` reports); None for any other cause.
    pub fn from_cause(cause: &str) -> Option<SitCategory> {
        cause.strip_prefix("sit-").and_then(SitCategory::from_code)
    }

    /// Congestion (worth redialling later) rather than a bad number.
    pub fn retry_later(self) -> bool {
        matches!(self, SitCategory::Reorder | SitCategory::NoCircuit)
    }

    /// The number itself is bad (changed, disconnected, unassigned): never dial it again.
    pub fn number_invalid(self) -> bool {
        matches!(self, SitCategory::Intercept | SitCategory::VacantCode)
    }

    /// What the tone means, for people (a lead's invalid reason, logs).
    pub fn meaning(self) -> &'static str {
        match self {
            SitCategory::Intercept => "number changed or disconnected",
            SitCategory::VacantCode => "unassigned number",
            SitCategory::Reorder => "network busy",
            SitCategory::NoCircuit => "no circuit available",
            SitCategory::Reserved => "reserved pattern",
        }
    }

    pub const ALL: [SitCategory; 5] = [
        SitCategory::Intercept,
        SitCategory::VacantCode,
        SitCategory::Reorder,
        SitCategory::NoCircuit,
        SitCategory::Reserved,
    ];
}

/// A detected SIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sit {
    pub category: SitCategory,
    /// The inter-carrier (inter-LATA) variant of its category (NC and RO have one).
    pub carrier: bool,
    pub segments: [SitSegment; 3],
    /// Audio analysed when the third segment ended.
    pub detected_after_ms: u32,
}

/// The category of a segment pattern: the eight patterns of the US table first, then the
/// frequency pair alone (the four-code table older equipment sends).
pub fn classify(segments: &[SitSegment; 3]) -> (SitCategory, bool) {
    use Band::{High as H, Low as L};
    use Length::{Long as LG, Short as S};
    let f = (segments[0].band, segments[1].band);
    let d = (segments[0].length, segments[1].length, segments[2].length);
    match (f, d) {
        ((L, L), (S, S, LG)) => (SitCategory::Intercept, false),
        ((L, L), (LG, LG, LG)) => (SitCategory::NoCircuit, true),
        ((H, L), (LG, S, LG)) => (SitCategory::VacantCode, false),
        ((H, L), (S, LG, LG)) => (SitCategory::Reorder, true),
        ((L, H), (S, LG, LG)) => (SitCategory::Reorder, false),
        ((L, H), (LG, S, S)) => (SitCategory::Reserved, false),
        ((H, H), (LG, LG, LG)) => (SitCategory::NoCircuit, false),
        ((H, H), (S, S, LG)) => (SitCategory::Reserved, false),
        ((L, L), _) => (SitCategory::Intercept, false),
        ((H, L), _) => (SitCategory::VacantCode, false),
        ((L, H), _) => (SitCategory::Reorder, false),
        ((H, H), _) => (SitCategory::NoCircuit, false),
    }
}

/// A run of frames with one label.
#[derive(Debug, Clone, Copy)]
struct Run {
    tone: u8,
    frames: u16,
    /// Unlabelled frames between the previous run and this one.
    gap_before: u16,
}

/// SIT detection for one call's incoming audio. Feed it like [`super::Amd`]; a detected SIT
/// is reported once by [`SitDetector::poll_result`], after which the audio is ignored.
#[derive(Debug, Clone)]
pub struct SitDetector {
    framer: Framer,
    filters: [Goertzel; 5],
    current: Option<Run>,
    /// The last completed runs, oldest first (`len` of them valid).
    history: [Run; 3],
    len: usize,
    gap: u16,
    frames: u64,
    result: Option<Sit>,
    reported: bool,
}

impl Default for SitDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl SitDetector {
    pub fn new() -> Self {
        SitDetector {
            framer: Framer::new(),
            filters: FREQS.map(Goertzel::new),
            current: None,
            history: [Run {
                tone: 0,
                frames: 0,
                gap_before: 0,
            }; 3],
            len: 0,
            gap: u16::MAX,
            frames: 0,
            result: None,
            reported: false,
        }
    }

    /// Feeds 8 kHz linear PCM, any length. `_now` is unused (SIT is timed by the audio
    /// itself); it is there so a driver feeds both detectors alike.
    pub fn handle_frame(&mut self, _now: Instant, samples: &[i16]) {
        if self.result.is_some() {
            return;
        }
        let Self {
            framer,
            filters,
            current,
            history,
            len,
            gap,
            frames,
            result,
            ..
        } = self;
        let mut st = Tracker {
            current,
            history,
            len,
            gap,
            frames,
            result,
        };
        framer.push(samples, |f| {
            let label = label(filters, f);
            st.step(label);
        });
    }

    /// Feeds one G.711 RTP payload.
    pub fn handle_payload(&mut self, now: Instant, codec: CodecName, payload: &[u8]) {
        for_each_decoded(codec, payload, |pcm| self.handle_frame(now, pcm));
    }

    /// The SIT, once.
    pub fn poll_result(&mut self) -> Option<Sit> {
        if self.reported {
            return None;
        }
        let r = self.result?;
        self.reported = true;
        Some(r)
    }

    /// The SIT, if one was heard (does not consume it).
    pub fn result(&self) -> Option<Sit> {
        self.result
    }
}

/// Which SIT frequency, if any, dominates a frame.
fn label(filters: &[Goertzel; 5], frame: &[i16; FRAME_SAMPLES]) -> Option<u8> {
    let energy: f32 = frame.iter().map(|&s| f32::from(s) * f32::from(s)).sum();
    if energy / (FRAME_SAMPLES as f32) < MIN_MEAN_POWER {
        return None;
    }
    let p = filters.map(|g| purity(g.power(frame), energy, FRAME_SAMPLES));
    let (best, &pb) = p
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .expect("five filters");
    if pb < MIN_PURITY {
        return None;
    }
    // The other frequency of the same segment must be clearly weaker.
    let sibling = match best {
        0 => p[1],
        1 => p[0],
        2 => p[3],
        3 => p[2],
        _ => 0.0,
    };
    (pb >= MIN_BAND_RATIO * sibling).then_some(best as u8)
}

fn group(tone: u8) -> u8 {
    match tone {
        0 | 1 => 1,
        2 | 3 => 2,
        _ => 3,
    }
}

fn band(tone: u8) -> Band {
    if tone == 1 || tone == 3 {
        Band::High
    } else {
        Band::Low
    }
}

/// The run bookkeeping, borrowed apart from the framer.
struct Tracker<'a> {
    current: &'a mut Option<Run>,
    history: &'a mut [Run; 3],
    len: &'a mut usize,
    gap: &'a mut u16,
    frames: &'a mut u64,
    result: &'a mut Option<Sit>,
}

impl Tracker<'_> {
    fn step(&mut self, label: Option<u8>) {
        if self.result.is_some() {
            return;
        }
        *self.frames += 1;
        match (label, *self.current) {
            (Some(t), Some(mut run)) if run.tone == t => {
                run.frames = run.frames.saturating_add(1);
                *self.current = Some(run);
            }
            (Some(t), cur) => {
                if let Some(run) = cur {
                    self.complete(run);
                    *self.gap = 0;
                }
                self.start(t);
            }
            (None, Some(run)) => {
                self.complete(run);
                *self.current = None;
                *self.gap = 1;
            }
            (None, None) => *self.gap = self.gap.saturating_add(1),
        }
    }

    fn start(&mut self, tone: u8) {
        // One odd frame inside a segment (noise, a click) does not split it.
        if *self.len > 0 && *self.gap <= 1 {
            let last = self.history[*self.len - 1];
            if last.tone == tone {
                *self.len -= 1;
                *self.current = Some(Run {
                    frames: last.frames + *self.gap,
                    ..last
                });
                return;
            }
        }
        *self.current = Some(Run {
            tone,
            frames: 1,
            gap_before: *self.gap,
        });
    }

    fn complete(&mut self, run: Run) {
        if *self.len == 3 {
            self.history.copy_within(1.., 0);
            *self.len = 2;
        }
        self.history[*self.len] = run;
        *self.len += 1;
        if *self.len == 3 {
            self.check();
        }
    }

    fn check(&mut self) {
        let h = *self.history;
        let bands_in_order = h.iter().map(|r| group(r.tone)).eq([1, 2, 3]);
        let lengths_ok = h
            .iter()
            .all(|r| (MIN_SEGMENT_FRAMES..=MAX_SEGMENT_FRAMES).contains(&r.frames));
        let gaps_ok = h[1].gap_before <= MAX_GAP_FRAMES && h[2].gap_before <= MAX_GAP_FRAMES;
        if !(bands_in_order && lengths_ok && gaps_ok) {
            return;
        }
        let segments = h.map(|r| {
            let ms = u32::from(r.frames) * FRAME_MS;
            SitSegment {
                band: band(r.tone),
                length: if ms < SHORT_BELOW_MS {
                    Length::Short
                } else {
                    Length::Long
                },
                ms,
            }
        });
        let (category, carrier) = classify(&segments);
        *self.result = Some(Sit {
            category,
            carrier,
            segments,
            detected_after_ms: (*self.frames * u64::from(FRAME_MS)).min(u64::from(u32::MAX)) as u32,
        });
    }
}
