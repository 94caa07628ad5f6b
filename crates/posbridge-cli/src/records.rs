//! Reading sales, purchases and customers from a file or standard input: one JSON
//! object, a JSON array, or NDJSON (one object per line). Every record is parsed and
//! checked before anything is sent; an error names the line (or array index) and the
//! field, and quotes the input only as a short excerpt (see [`crate::quote`]).

use std::io::Read as _;
use std::path::Path;

use anyhow::anyhow;
use serde::de::DeserializeOwned;

use crate::exit::{CliError, Exit};
use crate::quote::{shorten, shorten_quoted};

/// A record and where it came from (for messages).
#[derive(Debug)]
pub struct Record<T> {
    /// `line 3`, `record 2`, or `the document`.
    pub location: String,
    /// The parsed record.
    pub value: T,
}

/// Reads `path` (`-` for standard input): its name for messages (shortened), and its text.
pub fn read_source(path: &Path) -> Result<(String, String), CliError> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot read standard input: {e}")))?;
        Ok(("<stdin>".to_owned(), s))
    } else {
        let name = shorten(&path.display().to_string());
        let s = std::fs::read_to_string(path)
            .map_err(|e| CliError::new(Exit::Usage, anyhow!("cannot read {name}: {e}")))?;
        Ok((name, s))
    }
}

/// Parses records of type `T` from `text` (named `source` in messages).
pub fn parse<T: DeserializeOwned>(source: &str, text: &str, what: &str) -> Result<Vec<Record<T>>, CliError> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(CliError::new(
            Exit::Usage,
            anyhow!("{source}: no {what} found (the input is empty)"),
        ));
    }
    let bad = |location: String, e: serde_json::Error| {
        // serde_json quotes the value it could not take, which may be megabytes.
        let e = shorten_quoted(&e.to_string());
        CliError::new(Exit::Usage, anyhow!("{source}, {location}: invalid {what}: {e}"))
            .hint(format!("fix the {what} at {location}; nothing was sent"))
    };
    if trimmed.starts_with('[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(|e| bad(format!("line {}", e.line()), e))?;
        return items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let location = format!("record {}", i + 1);
                serde_json::from_value(v)
                    .map(|value| Record {
                        location: location.clone(),
                        value,
                    })
                    .map_err(|e| bad(location, e))
            })
            .collect();
    }
    // One (possibly pretty-printed) object, or NDJSON.
    if let Ok(value) = serde_json::from_str::<T>(text) {
        return Ok(vec![Record {
            location: "the document".to_owned(),
            value,
        }]);
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let location = format!("line {}", n + 1);
        let value = serde_json::from_str::<T>(line).map_err(|e| bad(location.clone(), e))?;
        out.push(Record { location, value });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use posbridge::Sale;

    const GOOD: &str = r#"{"reference":"A","issued_at":"2026-01-01T00:00:00Z","lines":[{"product_code":"X","quantity":"1","unit_price":"1"}]}"#;

    #[test]
    fn reads_one_array_and_ndjson() {
        assert_eq!(parse::<Sale>("f", GOOD, "sale").unwrap().len(), 1);
        assert_eq!(
            parse::<Sale>("f", &format!("[{GOOD},{GOOD}]"), "sale").unwrap().len(),
            2
        );
        let nd = format!("{GOOD}\n\n{GOOD}\n");
        let r = parse::<Sale>("f", &nd, "sale").unwrap();
        assert_eq!(r[1].location, "line 3");
    }

    #[test]
    fn names_the_line_and_field() {
        let nd = format!(
            "{GOOD}\n{}\n",
            GOOD.replace("\"lines\"", "\"lines\":[],\"discout\":1,\"x\"")
        );
        let e = parse::<Sale>("sales.ndjson", &nd, "sale").unwrap_err();
        let msg = e.render();
        assert!(msg.contains("line 2") && msg.contains("discout"), "{msg}");
        assert_eq!(e.exit, Exit::Usage);
    }
}
