//! Startup repair: a WAV cut by `kill -9` or power loss holds the sizes of its last header
//! refresh (hound's `flush`), or none at all, while the file holds more audio. The fix is
//! sans-IO (`plan`: header bytes and file length in, the sizes to write out); `repair_dir`
//! is the thin IO around it.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepairError {
    #[error("not a RIFF/WAVE file")]
    NotWave,
    #[error("no data chunk in the first {0} bytes")]
    NoData(usize),
}

/// What to write so the header matches the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub riff_size: u32,
    /// Where the data chunk's size field is, and its new value.
    pub data_size_at: u64,
    pub data_size: u32,
    /// Cut a trailing partial frame (a sample half written when the process died).
    pub truncate_to: u64,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// None when the header already matches `file_len`.
pub fn plan(head: &[u8], file_len: u64) -> Result<Option<Fix>, RepairError> {
    if head.get(0..4) != Some(b"RIFF") || head.get(8..12) != Some(b"WAVE") {
        return Err(RepairError::NotWave);
    }
    let mut at = 12usize;
    let mut block_align = 1u64;
    loop {
        let (Some(id), Some(size)) = (head.get(at..at + 4), u32_at(head, at + 4)) else {
            return Err(RepairError::NoData(head.len()));
        };
        if id == b"fmt " {
            let align = head
                .get(at + 20..at + 22)
                .map_or(1, |b| u16::from_le_bytes([b[0], b[1]]));
            block_align = u64::from(align.max(1));
        }
        if id == b"data" {
            let data_at = (at + 8) as u64;
            let avail = file_len.saturating_sub(data_at);
            let data = (avail - avail % block_align).min(u64::from(u32::MAX) - data_at);
            let end = data_at + data;
            let riff = (end - 8) as u32;
            if u64::from(size) == data && u32_at(head, 4) == Some(riff) && end == file_len {
                return Ok(None);
            }
            return Ok(Some(Fix {
                riff_size: riff,
                data_size_at: (at + 4) as u64,
                data_size: data as u32,
                truncate_to: end,
            }));
        }
        // Chunks are padded to even sizes.
        at += 8 + size as usize + (size as usize & 1);
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RepairReport {
    pub checked: usize,
    pub repaired: usize,
    pub failed: usize,
}

/// Check every `.wav` under `dir` (recursively) and fix the headers that need it.
pub fn repair_dir(dir: &Path) -> RepairReport {
    let mut report = RepairReport::default();
    walk(dir, &mut report);
    report
}

fn walk(dir: &Path, report: &mut RepairReport) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            walk(&path, report);
        } else if kind.is_file() && path.extension().is_some_and(|x| x == "wav") {
            report.checked += 1;
            match repair_file(&path) {
                Ok(true) => {
                    report.repaired += 1;
                    tracing::warn!(path = %path.display(), "recording cut short: header repaired from the file length");
                }
                Ok(false) => {}
                Err(why) => {
                    report.failed += 1;
                    tracing::warn!(path = %path.display(), error = %why, "recording could not be repaired");
                }
            }
        }
    }
}

/// Ok(true) when the header was rewritten.
pub fn repair_file(path: &Path) -> Result<bool, String> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| e.to_string())?;
    let len = f.metadata().map_err(|e| e.to_string())?.len();
    let mut head = vec![0u8; 4096.min(len as usize)];
    f.read_exact(&mut head).map_err(|e| e.to_string())?;
    let Some(fix) = plan(&head, len).map_err(|e| e.to_string())? else {
        return Ok(false);
    };
    let io = |e: std::io::Error| e.to_string();
    f.seek(SeekFrom::Start(4)).map_err(io)?;
    f.write_all(&fix.riff_size.to_le_bytes()).map_err(io)?;
    f.seek(SeekFrom::Start(fix.data_size_at)).map_err(io)?;
    f.write_all(&fix.data_size.to_le_bytes()).map_err(io)?;
    if fix.truncate_to < len {
        f.set_len(fix.truncate_to).map_err(io)?;
    }
    f.sync_all().map_err(io)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file as hound leaves it when killed: the header from creation (sizes 0) or from
    /// an earlier flush, followed by more audio and half a frame.
    #[test]
    fn stale_header_is_fixed_from_the_file_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..1600 {
            w.write_sample((i % 100) as i16).unwrap();
        }
        w.flush().unwrap();
        for i in 0..6400 {
            w.write_sample((i % 100) as i16 + 1).unwrap();
        }
        // Simulate the kill: the buffered bytes reach the file, the header is not updated.
        let bytes_written = {
            std::mem::forget(w);
            std::fs::metadata(&path).unwrap().len()
        };
        // BufWriter may hold some bytes back when forgotten: append what a kill would have
        // left anyway (whole frames) plus a torn sample.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[7, 0, 7, 0, 9]).unwrap();
        drop(f);
        assert_eq!(hound::WavReader::open(&path).unwrap().len(), 1600);

        assert!(repair_file(&path).unwrap());
        let r = hound::WavReader::open(&path).unwrap();
        let expect = (bytes_written + 4 - 44) / 2;
        assert_eq!(u64::from(r.len()), expect);
        assert_eq!(
            std::fs::metadata(&path).unwrap().len() % 4,
            0,
            "torn frame cut"
        );
        assert!(!repair_file(&path).unwrap(), "a sound file is left alone");
    }

    #[test]
    fn plan_refuses_what_is_no_wave() {
        assert_eq!(plan(b"nothing here", 100), Err(RepairError::NotWave));
        let mut h = b"RIFF\0\0\0\0WAVE".to_vec();
        h.extend_from_slice(b"LIST\x04\0\0\0abcd");
        assert_eq!(plan(&h, 100), Err(RepairError::NoData(h.len())));
    }
}
