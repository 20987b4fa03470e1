//! Any bytes through the cloudpayments parser: an answer (payments or a refusal), never a panic.
#![no_main]

use almoner::import::{Format, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, Some(Format::CloudPayments));
    let _ = parse(data, None);
});
