//! Any text as a mapping profile: a clear error or a profile, never a panic.
#![no_main]

use almoner::import::profile::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Profile::parse(text, "fuzz.toml");
    }
});
