#![no_main]
//! Config text (the whole schema, `[dispositions]` codes included) must give a config or
//! file:line:col errors, never a panic; the number check behind BlockNumber and Originate
//! must hold on any input.
use libfuzzer_sys::fuzz_target;
use switchboard::config::parse_str;
use switchboard::sip::endpoint::calls::valid_number;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = valid_number(text);
    let _ = parse_str(text, "fuzz.toml");
    // The dispositions section on its own, so the fuzzer reaches its checks quickly.
    let _ = parse_str(&format!("[dispositions]\ncodes = [{text}]\n"), "fuzz.toml");
});
