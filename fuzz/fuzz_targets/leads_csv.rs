#![no_main]
//! Lead CSV import and E.164 normalization must never panic on any bytes: a bad file is an
//! error naming the line, a bad row an `invalid` lead with its reason.
use std::path::Path;
use std::time::{Duration, SystemTime};

use libfuzzer_sys::fuzz_target;
use switchboard::dialer::leads::{e164, LeadBook};
use switchboard::dialer::source::LeadRules;

const REGIONS: [&str; 4] = ["US", "GB", "DE", "IN"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, csv)) = data.split_first() else { return };
    let region = REGIONS[pick as usize % REGIONS.len()];
    if let Ok(id) = e164::parse_region(region) {
        for line in String::from_utf8_lossy(csv).lines() {
            let _ = e164::normalize(line, id);
        }
    }
    // A fresh in-memory book per input: nothing carries over between runs.
    let Ok(mut book) = LeadBook::open(Path::new(":memory:")) else { return };
    let rules = LeadRules { default_region: region.into(), ..LeadRules::default() };
    if book.set_rules("f", rules).is_err() {
        return;
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    if let Ok(report) = book.import_csv(now, "f", csv) {
        // Whatever was imported as dialable is E.164 and selectable without panicking.
        let _ = book.try_next_lead(now, "f", None);
        assert!(report.invalid.iter().all(|(line, _)| *line >= 2));
    }
});
