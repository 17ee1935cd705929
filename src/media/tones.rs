//! Tones we generate instead of shipping files: ringback for callers we answered ourselves
//! while their destination rings.

use std::collections::HashMap;

use super::prompt::Prompt;

/// The built-in prompts by name.
pub fn builtin() -> HashMap<String, Prompt> {
    let mut m = HashMap::new();
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

#[cfg(test)]
mod tests {
    #[test]
    fn ringback_is_two_seconds_of_tone_then_silence() {
        let r = super::ringback();
        assert_eq!(r.len(), 48000);
        assert!(r[..16000].iter().any(|s| s.unsigned_abs() > 3000));
        assert!(r[16000..].iter().all(|s| *s == 0));
    }
}
