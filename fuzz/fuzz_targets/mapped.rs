//! Any bytes as a CSV (or XLSX) through a mapping profile: never a panic.
#![no_main]

use almoner::import::profile::Profile;
use almoner::import::parse_with;
use libfuzzer_sys::fuzz_target;

const PROFILE: &str = "name = \"fuzz\"\ndecimal = \",\"\n[columns]\ndate = \"Дата\"\ncredit = \"Приход\"\ndebit = \"Расход\"\npayer = 3\npurpose = \"Назначение\"\nid = 1\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(profile) = Profile::parse(PROFILE, "fuzz.toml") {
        let _ = parse_with(data, None, Some(&profile));
    }
});
