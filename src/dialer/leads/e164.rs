//! Phone numbers to E.164 ("+12015550123") with libphonenumber's rules (the `phonenumber`
//! crate), so "(201) 555-0123", "201.555.0123" and "+1 201 555 0123" are one lead.

use phonenumber::{country, Mode};

/// A number that is dialable: its E.164 form and the country it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E164 {
    pub number: String,
    /// ISO 3166 alpha-2, when the number maps to one country.
    pub country: Option<String>,
}

/// Parse a region code ("US", "gb").
pub fn parse_region(region: &str) -> Result<country::Id, String> {
    region
        .trim()
        .to_ascii_uppercase()
        .parse::<country::Id>()
        .map_err(|_| format!("unknown region {region:?} (expected an ISO 3166 code like US)"))
}

/// Normalize `raw`; numbers without a country code are read as `default_region`'s.
pub fn normalize(raw: &str, default_region: country::Id) -> Result<E164, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("no phone number".into());
    }
    let n = phonenumber::parse(Some(default_region), raw)
        .map_err(|e| format!("{raw:?} is not a phone number: {e}"))?;
    if !n.is_valid() {
        return Err(format!(
            "{raw:?} is not a valid number (read as {})",
            n.format().mode(Mode::E164)
        ));
    }
    Ok(E164 {
        number: n.format().mode(Mode::E164).to_string(),
        country: n.country().id().map(|id| id.as_ref().to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_and_international_spellings_normalize_to_one_e164() {
        let us = parse_region("us").unwrap();
        for raw in [
            "(201) 555-0123",
            "201.555.0123",
            "+1 201 555 0123",
            "1-201-555-0123",
            " 2015550123 ",
        ] {
            let n = normalize(raw, us).unwrap();
            assert_eq!(n.number, "+12015550123", "{raw}");
            assert_eq!(n.country.as_deref(), Some("US"));
        }
        // A country code wins over the default region.
        let gb = normalize("+44 20 7946 0958", us).unwrap();
        assert_eq!(gb.number, "+442079460958");
        assert_eq!(gb.country.as_deref(), Some("GB"));
        // And the default region applies to national forms.
        let gb2 = normalize("020 7946 0958", parse_region("GB").unwrap()).unwrap();
        assert_eq!(gb2.number, "+442079460958");
    }

    #[test]
    fn garbage_and_impossible_numbers_are_rejected_with_the_reason() {
        let us = parse_region("US").unwrap();
        assert!(normalize("", us).unwrap_err().contains("no phone number"));
        assert!(normalize("call me maybe", us)
            .unwrap_err()
            .contains("not a phone number"));
        // 555 is no US area code.
        assert!(normalize("555-0100", us).is_err());
        assert!(normalize("+1 555 555 0100", us)
            .unwrap_err()
            .contains("not a valid number"));
        assert!(parse_region("XX").unwrap_err().contains("unknown region"));
    }
}
