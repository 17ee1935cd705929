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
    /// `machine_action = "message"`: after the verdict, silence this long (no beep heard)
    /// starts the message.
    pub message_wait_silence_ms: u32,
    /// ...and with neither beep nor silence, it starts this long after the verdict.
    pub message_max_wait_secs: u32,
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
            // Voicemail beeps come within a second or so of the greeting's end; greetings
            // run up to ~20 s.
            message_wait_silence_ms: 1500,
            message_max_wait_secs: 20,
        }
    }
}

/// A setting the detector cannot work with (the message names it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmdConfigError {
    #[error("amd: total_analysis_ms must be > 0 (Asterisk's default is 5000)")]
    NoAnalysisTime,
    #[error("amd: maximum_number_of_words must be ≥ 1 (0 would call every call a machine)")]
    NoWords,
    #[error("amd: min_word_length_ms ({min}) must not exceed maximum_word_length_ms ({max})")]
    WordLengths { min: u32, max: u32 },
    #[error("amd: silence_threshold {0} is above the largest mean amplitude (32768)")]
    Threshold(u32),
    #[error("amd: message_wait_silence_ms must be 100-10000 (default 1500), not {0}")]
    MessageSilence(u32),
    #[error("amd: message_max_wait_secs must be 1-120 (default 20), not {0}")]
    MessageMaxWait(u32),
    #[error(
        "amd: message_wait_silence_ms ({silence_ms}) must be shorter than message_max_wait_secs ({max_secs} s)"
    )]
    MessageWaits { silence_ms: u32, max_secs: u32 },
}

impl AmdConfig {
    /// Rejects settings that make the detector meaningless.
    pub fn validate(&self) -> Result<(), AmdConfigError> {
        if self.total_analysis_ms == 0 {
            return Err(AmdConfigError::NoAnalysisTime);
        }
        if self.maximum_number_of_words == 0 {
            return Err(AmdConfigError::NoWords);
        }
        if self.min_word_length_ms > self.maximum_word_length_ms {
            return Err(AmdConfigError::WordLengths {
                min: self.min_word_length_ms,
                max: self.maximum_word_length_ms,
            });
        }
        if self.silence_threshold > 32768 {
            return Err(AmdConfigError::Threshold(self.silence_threshold));
        }
        if !(100..=10_000).contains(&self.message_wait_silence_ms) {
            return Err(AmdConfigError::MessageSilence(self.message_wait_silence_ms));
        }
        if !(1..=120).contains(&self.message_max_wait_secs) {
            return Err(AmdConfigError::MessageMaxWait(self.message_max_wait_secs));
        }
        if u64::from(self.message_wait_silence_ms) >= u64::from(self.message_max_wait_secs) * 1000 {
            return Err(AmdConfigError::MessageWaits {
                silence_ms: self.message_wait_silence_ms,
                max_secs: self.message_max_wait_secs,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_settings_are_named() {
        assert_eq!(AmdConfig::default().validate(), Ok(()));
        let bad = AmdConfig {
            min_word_length_ms: 200,
            maximum_word_length_ms: 100,
            ..AmdConfig::default()
        };
        let e = bad.validate().unwrap_err();
        assert!(
            e.to_string().contains("maximum_word_length_ms (100)"),
            "{e}"
        );
        let bad = AmdConfig {
            maximum_number_of_words: 0,
            ..AmdConfig::default()
        };
        assert_eq!(bad.validate(), Err(AmdConfigError::NoWords));
    }

    #[test]
    fn settings_parse_by_their_amd_conf_names_and_unknown_keys_fail() {
        let c: AmdConfig = toml::from_str("maximum_number_of_words = 3\n").expect("parses");
        assert_eq!(c.maximum_number_of_words, 3);
        assert_eq!(c.greeting_ms, 1500);
        assert!(toml::from_str::<AmdConfig>("max_words = 3\n").is_err());
    }
}
