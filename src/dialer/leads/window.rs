//! Calling windows: "HH:MM-HH:MM" per weekday, evaluated in the lead's own time zone at
//! `now` (so daylight saving time is the zone database's business, not ours).

use std::collections::BTreeMap;
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use chrono_tz::Tz;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The rules' windows, parsed: minutes since local midnight, [start, end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    /// Indexed by `Weekday::num_days_from_monday`; None = no calls that day.
    days: [Option<(u32, u32)>; 7],
}

impl Windows {
    /// Parse `LeadRules::window`. Keys: `default` and `mon`..`sun`; a missing day uses
    /// `default` (no `default` = closed); "" closes the day.
    pub fn parse(spec: &BTreeMap<String, String>) -> Result<Windows, String> {
        for k in spec.keys() {
            if k != "default" && !DAYS.contains(&k.as_str()) {
                return Err(format!(
                    "window: unknown day {k:?} (expected default, mon, tue, wed, thu, fri, sat, sun)"
                ));
            }
        }
        let default = match spec.get("default") {
            Some(s) => parse_range(s)?,
            None => None,
        };
        let mut days = [default; 7];
        for (i, d) in DAYS.iter().enumerate() {
            if let Some(s) = spec.get(*d) {
                days[i] = parse_range(s).map_err(|e| format!("window.{d}: {e}"))?;
            }
        }
        Ok(Windows { days })
    }

    /// Is `now` inside the window, seen from zone `tz`?
    pub fn is_open(&self, tz: Tz, now: SystemTime) -> bool {
        let local = DateTime::<Utc>::from(now).with_timezone(&tz);
        let day = weekday_index(local.weekday());
        let minute = local.hour() * 60 + local.minute();
        matches!(self.days[day], Some((a, b)) if minute >= a && minute < b)
    }
}

fn weekday_index(w: Weekday) -> usize {
    w.num_days_from_monday() as usize
}

/// "09:00-20:00" → (540, 1200); "" → None (closed). "24:00" is allowed as an end.
fn parse_range(s: &str) -> Result<Option<(u32, u32)>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{s:?} is not a window like \"09:00-20:00\"");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (a, b) = (parse_hm(a).ok_or_else(bad)?, parse_hm(b).ok_or_else(bad)?);
    if a >= b {
        return Err(format!(
            "{s:?}: the window must end after it starts (same day)"
        ));
    }
    Ok(Some((a, b)))
}

fn parse_hm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A UTC instant from a civil date and time (the virtual clock of these tests).
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> SystemTime {
        let t = chrono::NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|x| x.and_hms_opt(h, mi, 0))
            .expect("test dates are valid")
            .and_utc()
            .timestamp();
        SystemTime::UNIX_EPOCH + Duration::from_secs(t as u64)
    }

    fn rules(pairs: &[(&str, &str)]) -> Windows {
        let m = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Windows::parse(&m).unwrap()
    }

    #[test]
    fn the_window_is_the_leads_local_time_not_utc() {
        let w = rules(&[("default", "09:00-20:00")]);
        // Wed 2026-07-15 14:00 UTC = 10:00 in New York (EDT), 07:00 in Los Angeles (PDT).
        let t = utc(2026, 7, 15, 14, 0);
        assert!(w.is_open(chrono_tz::America::New_York, t));
        assert!(!w.is_open(chrono_tz::America::Los_Angeles, t));
        // 19:59 local is in, 20:00 local is out (the end is exclusive).
        assert!(w.is_open(chrono_tz::America::New_York, utc(2026, 7, 15, 23, 59)));
        assert!(!w.is_open(chrono_tz::America::New_York, utc(2026, 7, 16, 0, 0)));
    }

    #[test]
    fn daylight_saving_time_moves_the_window_in_utc() {
        let w = rules(&[("default", "09:00-20:00")]);
        // 13:30 UTC: Sat 2026-03-07 is 08:30 EST (closed); Mon 2026-03-09, after the switch on
        // Sunday the 8th, it is 09:30 EDT (open).
        assert!(!w.is_open(chrono_tz::America::New_York, utc(2026, 3, 7, 13, 30)));
        assert!(w.is_open(chrono_tz::America::New_York, utc(2026, 3, 9, 13, 30)));
        // Arizona has no DST: 16:30 UTC is 09:30 MST both days.
        assert!(w.is_open(chrono_tz::America::Phoenix, utc(2026, 3, 7, 16, 30)));
        assert!(w.is_open(chrono_tz::America::Phoenix, utc(2026, 3, 9, 16, 30)));
        // Europe switches on the last Sunday of March: 08:30 UTC on Mon 2026-03-30 is 10:30
        // in Berlin (CEST), a week earlier 09:30 (CET); both open, but 07:30 UTC is 08:30 CET
        // (closed) before and 09:30 CEST (open) after.
        assert!(!w.is_open(chrono_tz::Europe::Berlin, utc(2026, 3, 23, 7, 30)));
        assert!(w.is_open(chrono_tz::Europe::Berlin, utc(2026, 3, 30, 7, 30)));
    }

    #[test]
    fn weekdays_override_the_default_and_empty_closes_the_day() {
        let w = rules(&[
            ("default", "09:00-20:00"),
            ("sat", "10:00-14:00"),
            ("sun", ""),
        ]);
        let ny = chrono_tz::America::New_York;
        // Sat 2026-07-18: 09:30 EDT closed (Saturday starts at 10), 11:00 open, 15:00 closed.
        assert!(!w.is_open(ny, utc(2026, 7, 18, 13, 30)));
        assert!(w.is_open(ny, utc(2026, 7, 18, 15, 0)));
        assert!(!w.is_open(ny, utc(2026, 7, 18, 19, 0)));
        // Sun 2026-07-19 noon: closed all day.
        assert!(!w.is_open(ny, utc(2026, 7, 19, 16, 0)));
        // The weekday is the local one: Sun 20:00 UTC is Sunday 10:00 in Honolulu (closed);
        // Mon 2026-07-20 01:00 UTC is Sunday 21:00 in NY but Monday 10:00 in Tokyo (open).
        assert!(!w.is_open(ny, utc(2026, 7, 20, 1, 0)));
        assert!(!w.is_open(chrono_tz::Pacific::Honolulu, utc(2026, 7, 19, 20, 0)));
        assert!(w.is_open(chrono_tz::Asia::Tokyo, utc(2026, 7, 20, 1, 0)));
    }

    #[test]
    fn bad_windows_are_clear_errors() {
        let one = |k: &str, v: &str| {
            Windows::parse(&BTreeMap::from([(k.to_string(), v.to_string())])).unwrap_err()
        };
        assert!(one("default", "9-17").contains("not a window"));
        assert!(one("default", "18:00-09:00").contains("must end after"));
        assert!(one("mon", "09:00-25:00").contains("window.mon"));
        assert!(one("funday", "09:00-10:00").contains("unknown day"));
        // 24:00 is a valid end; no default means closed unless the day says.
        let w = rules(&[("fri", "00:00-24:00")]);
        assert!(w.is_open(chrono_tz::UTC, utc(2026, 7, 17, 23, 59)));
        assert!(!w.is_open(chrono_tz::UTC, utc(2026, 7, 16, 12, 0)));
    }
}
