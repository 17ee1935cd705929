//! G.711 µ-law (PCMU) and A-law (PCMA), ITU-T G.711: 16-bit linear PCM ⇄ 8-bit codes.
//! Used off the relay path: prompts and music on hold are encoded once, recordings and the
//! IVR decode. Decoding is a table lookup; encoding a few bit operations.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

/// Linear sample → µ-law byte.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    let s = s.min(CLIP) + BIAS;
    // The segment is the position of the highest set bit above bit 7.
    let exponent = (31 - (s as u32).leading_zeros()).saturating_sub(7).min(7) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// µ-law byte → linear sample.
pub fn ulaw_decode(code: u8) -> i16 {
    ULAW_TABLE[code as usize]
}

/// Linear sample → A-law byte.
pub fn alaw_encode(sample: i16) -> u8 {
    // A-law works on 13-bit magnitudes.
    let s = i32::from(sample) >> 3;
    let (sign, mag) = if s >= 0 { (0x80, s) } else { (0x00, -s - 1) };
    let mag = mag.min(0x0fff);
    let code = if mag < 32 {
        (mag >> 1) as u8
    } else {
        let exponent = (31 - (mag as u32).leading_zeros()) as i32 - 4;
        ((exponent << 4) | ((mag >> exponent) & 0x0f)) as u8
    };
    (sign | code) ^ 0x55
}

/// A-law byte → linear sample.
pub fn alaw_decode(code: u8) -> i16 {
    ALAW_TABLE[code as usize]
}

const fn ulaw_to_linear(code: u8) -> i16 {
    let c = !code;
    let exponent = ((c >> 4) & 0x07) as i32;
    let mantissa = (c & 0x0f) as i32;
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    if c & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn alaw_to_linear(code: u8) -> i16 {
    let c = code ^ 0x55;
    let exponent = ((c >> 4) & 0x07) as i32;
    let mantissa = (c & 0x0f) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    if c & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

static ULAW_TABLE: [i16; 256] = table_ulaw();
static ALAW_TABLE: [i16; 256] = table_alaw();

const fn table_ulaw() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = ulaw_to_linear(i as u8);
        i += 1;
    }
    t
}

const fn table_alaw() -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alaw_to_linear(i as u8);
        i += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        // Silence, and the reference values of the G.711 tables.
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7f), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xaa), 32256);
        assert_eq!(alaw_decode(0x2a), -32256);
    }

    #[test]
    fn every_code_survives_decode_then_encode() {
        for c in 0..=255u8 {
            let u = ulaw_decode(c);
            // 0x7f and 0xff both mean zero; encode picks 0xff.
            let expect = if c == 0x7f { 0xff } else { c };
            assert_eq!(ulaw_encode(u), expect, "µ-law {c:#x} -> {u}");
            assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law {c:#x}");
        }
    }

    #[test]
    fn quantisation_error_is_small_relative_to_the_sample() {
        for s in (-32768i32..=32767).step_by(37) {
            let s = s as i16;
            for (enc, dec) in [
                (ulaw_encode as fn(i16) -> u8, ulaw_decode as fn(u8) -> i16),
                (alaw_encode, alaw_decode),
            ] {
                let back = i32::from(dec(enc(s)));
                let err = (back - i32::from(s)).abs();
                assert!(
                    err <= (i32::from(s).abs() / 16).max(16) + 8,
                    "{s} -> {back}"
                );
            }
        }
    }
}
