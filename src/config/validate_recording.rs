//! `[recording]`: the directory (relative to the config file), the name template (checked
//! here so a typo is a config error, not a surprise at the first call), and the limits.

use std::path::Path;

use super::error::Collector;
use super::schema::RawRecording;
use crate::recording::{name, RecordingConfig};

pub fn recording(c: &mut Collector, raw: &RawRecording, base: &Path) -> RecordingConfig {
    if let Err(e) = name::check(raw.file_name.get_ref()) {
        c.at(raw.file_name.span(), format!("recording.file_name: {e}"));
    }
    if *raw.max_concurrent.get_ref() == 0 {
        c.at(
            raw.max_concurrent.span(),
            "recording.max_concurrent must be at least 1 (use policy = \"never\" to record nothing)",
        );
    }
    let threads = *raw.writer_threads.get_ref();
    if !(1..=64).contains(&threads) {
        c.at(
            raw.writer_threads.span(),
            "recording.writer_threads must be 1 to 64",
        );
    }
    let dir = Path::new(&raw.dir);
    RecordingConfig {
        dir: if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            base.join(dir)
        },
        layout: raw.format,
        file_name: raw.file_name.get_ref().clone(),
        max_concurrent: *raw.max_concurrent.get_ref() as usize,
        policy: raw.policy,
        writer_threads: threads.clamp(1, 64) as usize,
    }
}
