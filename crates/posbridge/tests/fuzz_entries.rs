#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The fuzz entry every registered vendor declares in its descriptor
//! (`VendorDescriptor::fuzz`, what the fuzz target `vendor_response` in `fuzz/` runs),
//! on fixed inputs, so that a broken or missing entry fails `cargo test` without
//! cargo-fuzz; and the committed seeds of `vendor_response`, each handed to the vendor
//! its first byte picks, as the target picks it. With no vendor feature on, there is
//! nothing to run.

use posbridge::fuzzing::input;

/// The fuzz entries, in the registry's order (as the fuzz target lists them).
fn entries() -> Vec<fn(&[u8])> {
    posbridge::vendors().iter().filter_map(|d| d.fuzz()).collect()
}

#[test]
fn every_vendor_registers_a_fuzz_entry() {
    for d in posbridge::vendors() {
        assert!(d.fuzz().is_some(), "{} registers no fuzz entry", d.name());
    }
    #[cfg(feature = "full")]
    assert!(!entries().is_empty(), "no vendor in the registry");
}

#[test]
fn every_fuzz_entry_reads_empty_garbage_and_json_answers_with_any_selector() {
    for d in posbridge::vendors() {
        let Some(fuzz) = d.fuzz() else { continue };
        fuzz(&[]);
        fuzz(&[0xFF]);
        for selector in 0..=u8::MAX {
            fuzz(&input(
                selector,
                200,
                br#"{"data": [], "message": "ok", "id": 1, "code": "00"}"#,
            ));
            fuzz(&input(selector, 200, b"\x00garbage\xff{"));
            fuzz(&input(selector, 500, b""));
            fuzz(&input(selector, 429, br#"{"message": "slow down"}"#));
        }
    }
}

#[test]
fn the_committed_vendor_response_seeds_decode_or_fail_cleanly() {
    let entries = entries();
    if entries.is_empty() {
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/vendor_response");
    let mut seeds = 0;
    for entry in std::fs::read_dir(dir).expect("fuzz/corpus/vendor_response") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let Some((&vendor, rest)) = data.split_first() else {
            continue;
        };
        entries[usize::from(vendor) % entries.len()](rest);
        seeds += 1;
    }
    assert!(seeds > 0, "no seed in {dir}");
}
