//! Tones we generate instead of shipping files: ringback for callers we answered ourselves
//! while their destination rings, and a plain hold pattern for when no hold music is set.

use std::collections::HashMap;

use super::prompt::Prompt;

/// The built-in hold pattern (`[calls] hold_music` unset).
pub const HOLD: &str = "builtin:hold";

/// The built-in prompts by name.
pub fn builtin() -> HashMap<String, Prompt> {
    let mut m = HashMap::new();
    m.insert(HOLD.to_string(), Prompt::from_samples(HOLD, &hold()));
    m.insert(
        crate::sip::endpoint::calls::RINGBACK.to_string(),
        Prompt::from_samples(crate::sip::endpoint::calls::RINGBACK, &ringback()),
    );
    m
}

/// North American ringback: 440 Hz + 480 Hz at -19 dBm0 each, 2 s on, 4 s off (one cycle;
/// played looping).
fn ringback() -> Vec<i16> {
    let on = 16000;
    let mut v: Vec<i16> = (0..on)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let s = (2.0 * std::f64::consts::PI * 440.0 * t).sin()
                + (2.0 * std::f64::consts::PI * 480.0 * t).sin();
            (s * 2000.0) as i16
        })
        .collect();
    v.resize(48000, 0);
    v
}

/// A soft 600 Hz beep every 2 s (0.3 s on): the held side knows it is still connected,
/// and nobody mistakes it for ringback or busy.
fn hold() -> Vec<i16> {
    let on = 2400;
    let mut v: Vec<i16> = (0..on)
        .map(|i| {
            let t = i as f64 / 8000.0;
            ((2.0 * std::f64::consts::PI * 600.0 * t).sin() * 3000.0) as i16
        })
        .collect();
    v.resize(16000, 0);
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn hold_is_a_short_beep_then_silence() {
        let h = super::hold();
        assert_eq!(h.len(), 16000);
        assert!(h[..2400].iter().any(|s| s.unsigned_abs() > 2500));
        assert!(h[2400..].iter().all(|s| *s == 0));
    }

    #[test]
    fn ringback_is_two_seconds_of_tone_then_silence() {
        let r = super::ringback();
        assert_eq!(r.len(), 48000);
        assert!(r[..16000].iter().any(|s| s.unsigned_abs() > 3000));
        assert!(r[16000..].iter().all(|s| *s == 0));
    }
}
