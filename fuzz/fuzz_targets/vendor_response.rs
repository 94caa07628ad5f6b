//! Every vendor's answers, read the way its connector reads them: the fuzz entry each
//! vendor crate registers in its descriptor (`VendorDescriptor::fuzz`, listed by
//! `posbridge::vendors()`). This target names no vendor; a vendor added to the
//! registry with a fuzz entry is fuzzed here.
//!
//! Input: byte 0 picks the vendor — its value modulo the number of vendors with a
//! fuzz entry, in the registry's order — and the rest is that vendor's input (see
//! `posbridge_core::fuzzing::split_input`: a selector picking the answer, the HTTP
//! status, a `Retry-After`, the body; each vendor's `fuzzing::fuzz` says what its
//! selector picks). No panic; every error keeps its promises (short texts); every
//! amount or quantity read round-trips; whatever else the vendor's entry checks.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

/// The fuzz entries, in the registry's order.
static ENTRIES: LazyLock<Vec<fn(&[u8])>> =
    LazyLock::new(|| posbridge::vendors().iter().filter_map(|d| d.fuzz()).collect());

fuzz_target!(|data: &[u8]| {
    let Some((&vendor, input)) = data.split_first() else {
        return;
    };
    if let Some(fuzz) = ENTRIES.get(usize::from(vendor) % ENTRIES.len().max(1)) {
        fuzz(input);
    }
});
