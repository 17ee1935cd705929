//! Prompts and music on hold: 8 kHz 16-bit mono WAV files (hound), encoded once to both
//! G.711 laws at load time so playback only copies bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::g711;

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{path}: cannot read WAV: {source}")]
    Read { path: PathBuf, source: hound::Error },
    #[error("{path}: must be 8000 Hz, 16-bit, mono PCM (is {rate} Hz, {bits}-bit, {channels} channel(s), {format:?}); convert with e.g. `sox in.wav -r 8000 -b 16 -c 1 out.wav`")]
    Format {
        path: PathBuf,
        rate: u32,
        bits: u16,
        channels: u16,
        format: hound::SampleFormat,
    },
    #[error("{path}: holds no audio")]
    Empty { path: PathBuf },
}

/// One prompt, ready to send in either law. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub name: String,
    pub pcmu: Arc<[u8]>,
    pub pcma: Arc<[u8]>,
}

impl Prompt {
    pub fn from_samples(name: &str, samples: &[i16]) -> Prompt {
        Prompt {
            name: name.to_string(),
            pcmu: samples.iter().map(|s| g711::ulaw_encode(*s)).collect(),
            pcma: samples.iter().map(|s| g711::alaw_encode(*s)).collect(),
        }
    }

    pub fn load(name: &str, path: &Path) -> Result<Prompt, PromptError> {
        let read = |source| PromptError::Read {
            path: path.to_path_buf(),
            source,
        };
        let reader = hound::WavReader::open(path).map_err(read)?;
        let spec = reader.spec();
        if spec.sample_rate != 8000
            || spec.bits_per_sample != 16
            || spec.channels != 1
            || spec.sample_format != hound::SampleFormat::Int
        {
            return Err(PromptError::Format {
                path: path.to_path_buf(),
                rate: spec.sample_rate,
                bits: spec.bits_per_sample,
                channels: spec.channels,
                format: spec.sample_format,
            });
        }
        let samples = reader
            .into_samples::<i16>()
            .collect::<Result<Vec<i16>, _>>()
            .map_err(read)?;
        if samples.is_empty() {
            return Err(PromptError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Prompt::from_samples(name, &samples))
    }

    /// Length in 20 ms frames (the last one padded with silence).
    pub fn frames(&self) -> usize {
        self.pcmu.len().div_ceil(160)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, rate: u32, channels: u16, samples: &[i16]) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for s in samples {
            w.write_sample(*s).unwrap();
        }
        w.finalize().unwrap();
    }

    #[test]
    fn loads_8k_mono_and_refuses_the_rest_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.wav");
        let tone: Vec<i16> = (0..800)
            .map(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16)
            .collect();
        write(&good, 8000, 1, &tone);
        let p = Prompt::load("good", &good).unwrap();
        assert_eq!(p.pcmu.len(), 800);
        assert_eq!(p.frames(), 5);
        assert_eq!(p.pcmu[0], g711::ulaw_encode(0));
        assert_eq!(p.pcma[10], g711::alaw_encode(tone[10]));

        let wide = dir.path().join("wide.wav");
        write(&wide, 16000, 2, &tone);
        let e = Prompt::load("wide", &wide).unwrap_err().to_string();
        assert!(
            e.contains("wide.wav") && e.contains("16000 Hz") && e.contains("2 channel"),
            "{e}"
        );

        let empty = dir.path().join("empty.wav");
        write(&empty, 8000, 1, &[]);
        assert!(matches!(
            Prompt::load("e", &empty),
            Err(PromptError::Empty { .. })
        ));

        let junk = dir.path().join("junk.wav");
        std::fs::write(&junk, b"not a wav").unwrap();
        let e = Prompt::load("j", &junk).unwrap_err().to_string();
        assert!(
            e.contains("junk.wav") && e.contains("cannot read WAV"),
            "{e}"
        );
    }
}
