//! The footprint scenario's binary: what an application that picks its vendor from a
//! config file links. Built twice by `cargo xtask bench`, without the bench crate's
//! default features, against the facade with one vendor (`--features posbridge/NAME`,
//! the lightest) and with every vendor of the registry (`--features
//! posbridge/A,posbridge/B,…`), to compare their sizes.
//!
//! `footprint '{"vendor": "cloudma", "token": "…"}'` connects (sending nothing) and
//! prints what the vendor offers.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::args()
        .nth(1)
        .ok_or("usage: footprint '<vendor config JSON>'")?;
    let config: posbridge::VendorConfig = serde_json::from_str(&text)?;
    let connector = posbridge::connect(config)?;
    let offers: Vec<&str> = connector.capabilities().operations.iter().map(|o| o.as_str()).collect();
    #[allow(clippy::print_stdout, reason = "the example's output")]
    {
        println!("{}: {}", connector.vendor(), offers.join(", "));
    }
    Ok(())
}
