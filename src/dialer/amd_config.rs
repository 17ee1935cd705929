//! Answering machine detection settings, named after Asterisk's AMD() so engineers can carry
//! their tuning over. The detector lives in `dialer::amd`.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmdConfig {
    pub enabled: bool,
    /// Silence before any speech longer than this: machine.
    pub initial_silence_ms: u32,
    /// A greeting (first speech run) longer than this: machine.
    pub greeting_ms: u32,
    /// Silence after a short greeting at least this long: human.
    pub after_greeting_silence_ms: u32,
    /// No decision by then: not sure.
    pub total_analysis_ms: u32,
    /// Speech shorter than this is not a word.
    pub min_word_length_ms: u32,
    /// Silence that separates words.
    pub between_words_silence_ms: u32,
    /// More words than this: machine.
    pub maximum_number_of_words: u32,
    /// Frame energy (mean |sample|, 16-bit linear) above which a frame is speech.
    pub silence_threshold: u32,
    /// Longest single word: machine beyond it.
    pub maximum_word_length_ms: u32,
}

impl Default for AmdConfig {
    fn default() -> Self {
        // Asterisk's amd.conf defaults.
        AmdConfig {
            enabled: false,
            initial_silence_ms: 2500,
            greeting_ms: 1500,
            after_greeting_silence_ms: 800,
            total_analysis_ms: 5000,
            min_word_length_ms: 100,
            between_words_silence_ms: 50,
            maximum_number_of_words: 2,
            silence_threshold: 256,
            maximum_word_length_ms: 5000,
        }
    }
}
