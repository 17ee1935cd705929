//! Which time zone a lead lives in, for its calling window. In order: the CSV's `timezone`
//! (an IANA name), its `region` (a US state or Canadian province abbreviation: the zone most
//! of its people live in), the number's country when that country has one zone; otherwise
//! none, and the campaign's `default_timezone` applies at dial time. Kept simple on purpose:
//! a state split between two zones gets its main one, and area codes are not mapped.

use chrono_tz::Tz;

/// Parse an IANA zone name ("America/New_York").
pub fn parse_tz(name: &str) -> Result<Tz, String> {
    name.trim().parse::<Tz>().map_err(|_| {
        format!("unknown time zone {name:?} (expected an IANA name like America/New_York)")
    })
}

/// A US state / Canadian province (two letters, any case) to its main zone.
pub fn region_zone(region: &str) -> Option<&'static str> {
    let r = region.trim().to_ascii_uppercase();
    let z = match r.as_str() {
        // US, Eastern
        "CT" | "DE" | "DC" | "FL" | "GA" | "IN" | "KY" | "ME" | "MD" | "MA" | "MI" | "NH"
        | "NJ" | "NY" | "NC" | "OH" | "PA" | "RI" | "SC" | "VT" | "VA" | "WV" => "America/New_York",
        // US, Central
        "AL" | "AR" | "IL" | "IA" | "KS" | "LA" | "MN" | "MS" | "MO" | "NE" | "ND" | "OK"
        | "SD" | "TN" | "TX" | "WI" => "America/Chicago",
        // US, Mountain (Arizona keeps standard time all year)
        "CO" | "ID" | "MT" | "NM" | "UT" | "WY" => "America/Denver",
        "AZ" => "America/Phoenix",
        // US, Pacific and beyond
        "CA" | "NV" | "OR" | "WA" => "America/Los_Angeles",
        "AK" => "America/Anchorage",
        "HI" => "Pacific/Honolulu",
        "PR" | "VI" => "America/Puerto_Rico",
        "GU" | "MP" => "Pacific/Guam",
        "AS" => "Pacific/Pago_Pago",
        // Canada
        "ON" | "QC" => "America/Toronto",
        "NS" | "PE" => "America/Halifax",
        "NB" => "America/Moncton",
        "NL" => "America/St_Johns",
        "MB" => "America/Winnipeg",
        "SK" => "America/Regina",
        "AB" => "America/Edmonton",
        "BC" => "America/Vancouver",
        "YT" => "America/Whitehorse",
        "NT" => "America/Yellowknife",
        "NU" => "America/Iqaluit",
        _ => return None,
    };
    Some(z)
}

/// A country (ISO 3166 alpha-2) with a single time zone to that zone. Countries spanning
/// several zones (US, CA, MX, BR, RU, AU, ...) give None: the CSV must say, or the
/// campaign's default applies.
pub fn country_zone(country: &str) -> Option<&'static str> {
    let z = match country {
        "GB" => "Europe/London",
        "IE" => "Europe/Dublin",
        "FR" => "Europe/Paris",
        "DE" => "Europe/Berlin",
        "NL" => "Europe/Amsterdam",
        "BE" => "Europe/Brussels",
        "LU" => "Europe/Luxembourg",
        "CH" => "Europe/Zurich",
        "AT" => "Europe/Vienna",
        "IT" => "Europe/Rome",
        "ES" => "Europe/Madrid",
        "PL" => "Europe/Warsaw",
        "CZ" => "Europe/Prague",
        "SE" => "Europe/Stockholm",
        "NO" => "Europe/Oslo",
        "DK" => "Europe/Copenhagen",
        "FI" => "Europe/Helsinki",
        "GR" => "Europe/Athens",
        "RO" => "Europe/Bucharest",
        "HU" => "Europe/Budapest",
        "IL" => "Asia/Jerusalem",
        "IN" => "Asia/Kolkata",
        "JP" => "Asia/Tokyo",
        "KR" => "Asia/Seoul",
        "CN" => "Asia/Shanghai",
        "SG" => "Asia/Singapore",
        "PH" => "Asia/Manila",
        "ZA" => "Africa/Johannesburg",
        "NZ" => "Pacific/Auckland",
        "CO" => "America/Bogota",
        "PE" => "America/Lima",
        "AR" => "America/Argentina/Buenos_Aires",
        _ => return None,
    };
    Some(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_zone_is_a_real_iana_zone() {
        let regions = ["NY", "tx", "AZ", "CA", "HI", "ON", "NL", "BC", "PR"];
        for r in regions {
            let z = region_zone(r).unwrap_or_else(|| panic!("{r} unmapped"));
            parse_tz(z).unwrap();
        }
        for c in ["GB", "DE", "IN", "JP", "AR", "NZ"] {
            parse_tz(country_zone(c).unwrap()).unwrap();
        }
        assert_eq!(region_zone("ZZ"), None);
        assert_eq!(
            country_zone("US"),
            None,
            "multi-zone countries need a region"
        );
        assert!(parse_tz("Mars/Olympus")
            .unwrap_err()
            .contains("Mars/Olympus"));
    }
}
