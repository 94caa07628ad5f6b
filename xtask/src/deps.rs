//! The dependency check: `cargo xtask deps`, and a step of `cargo xtask test`.
//!
//! It reads the resolved dependency graph (`cargo metadata --format-version 1
//! --all-features --locked`: every package in `resolve.nodes`, for every target and
//! platform, dev-dependencies included) and fails when
//!
//! - the tree holds more than one semver-incompatible version of one of
//!   [`SINGLE_MAJOR`] (`1.2` and `1.40` are compatible; `0.12` and `0.13` are not); or
//! - a package's `license` SPDX expression cannot be satisfied using only the
//!   permissive licences in [`ALLOWED_LICENCES`], or the package declares no
//!   expression at all (only a `license-file`), unless the crate is listed with a
//!   reason in [`LICENCE_EXCEPTIONS`]. Our own crates are checked too.
//!
//! A failing package is reported with the chain by which one of our crates pulls
//! it in.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Crates of which the tree may hold only one semver-major version: two of them
/// mean two HTTP stacks, two runtimes or two TLS stacks compiled and in the binary.
pub const SINGLE_MAJOR: &[&str] = &["reqwest", "hyper", "tokio", "rustls"];

/// The licences a dependency may be used under: permissive ones only, which ask for
/// no more than keeping the notice (no copyleft, no advertising clause).
///
/// Reviewed: MIT, MIT-0, Apache-2.0 (with and without the LLVM exception), BSD-2/3,
/// ISC, Zlib, 0BSD, BSL-1.0, the Unicode licences, CC0-1.0, the Unlicense and
/// CDLA-Permissive-2.0 (the data licence of the Mozilla/webpki root certificates)
/// are permissive. Left out: OpenSSL (the old OpenSSL/SSLeay licence carries an
/// advertising clause, like BSD-4-Clause, and is GPL-incompatible; nothing in the
/// tree needs it).
pub const ALLOWED_LICENCES: &[&str] = &[
    "MIT",
    "MIT-0",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "CC0-1.0",
    "BSL-1.0",
    "Unlicense",
    "CDLA-Permissive-2.0",
];

/// Crates allowed to fail the licence check, by name, each with the reason. Keep it
/// empty where possible: a copyleft licence (MPL, LGPL, GPL) is a decision for a
/// maintainer, not an entry here.
pub const LICENCE_EXCEPTIONS: &[(&str, &str)] = &[(
    "webdriver",
    "MPL-2.0 (file-level copyleft, Mozilla's WebDriver protocol types): reached only through fantoccini, a \
     dev-dependency of posbridge-server's browser tests; it is never in a library or binary we ship, and we do \
     not modify its files",
)];

/// What the check found: the text to print, and the problems that fail it.
#[derive(Debug, Default)]
pub struct Outcome {
    /// What was checked and found, for the log.
    pub text: String,
    /// One line per failure; empty when the check passed.
    pub problems: Vec<String>,
}

/// Runs `cargo metadata` in `root` and checks the resolved tree.
pub fn check(root: &Path, cargo: &str) -> Result<Outcome> {
    let args = ["metadata", "--format-version", "1", "--all-features", "--locked"];
    let out = Command::new(cargo)
        .current_dir(root)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "cargo {} failed (is Cargo.lock up to date? run `cargo metadata` once and commit it)",
            args.join(" ")
        );
    }
    let metadata: Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata's output")?;
    evaluate(&metadata)
}

/// One resolved package.
#[derive(Debug)]
struct Package<'a> {
    name: &'a str,
    version: &'a str,
    license: Option<&'a str>,
    license_file: Option<&'a str>,
}

/// The resolved graph from `cargo metadata`'s JSON.
#[derive(Debug)]
struct Graph<'a> {
    packages: BTreeMap<&'a str, Package<'a>>,
    members: BTreeSet<&'a str>,
    /// Dependency id → (dependent id, whether the edge is normal/build rather than
    /// dev-only).
    dependents: HashMap<&'a str, Vec<(&'a str, bool)>>,
}

impl<'a> Graph<'a> {
    fn from_metadata(meta: &'a Value) -> Result<Graph<'a>> {
        let mut all = HashMap::new();
        for p in meta["packages"].as_array().context("cargo metadata: no `packages`")? {
            let id = p["id"].as_str().context("cargo metadata: a package without an id")?;
            all.insert(
                id,
                Package {
                    name: p["name"].as_str().context("cargo metadata: a package without a name")?,
                    version: p["version"].as_str().unwrap_or("?"),
                    license: p["license"].as_str(),
                    license_file: p["license_file"].as_str(),
                },
            );
        }
        let nodes = meta["resolve"]["nodes"]
            .as_array()
            .context("cargo metadata: no `resolve.nodes` (was it run with --no-deps?)")?;
        let mut packages = BTreeMap::new();
        let mut dependents: HashMap<&str, Vec<(&str, bool)>> = HashMap::new();
        for node in nodes {
            let id = node["id"]
                .as_str()
                .context("cargo metadata: a resolve node without an id")?;
            let package = all
                .remove(id)
                .with_context(|| format!("cargo metadata: resolve node {id} is not in `packages`"))?;
            packages.insert(id, package);
            for dep in node["deps"].as_array().into_iter().flatten() {
                let Some(dep_id) = dep["pkg"].as_str() else { continue };
                let kinds = dep["dep_kinds"].as_array();
                // Old cargo without dep_kinds: count the edge as normal.
                let runtime = kinds.is_none_or(|kinds| {
                    kinds
                        .iter()
                        .any(|k| k["kind"].is_null() || k["kind"].as_str() == Some("build"))
                });
                dependents.entry(dep_id).or_default().push((id, runtime));
            }
        }
        let members = meta["workspace_members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        Ok(Graph {
            packages,
            members,
            dependents,
        })
    }

    fn label(&self, id: &str) -> String {
        self.packages
            .get(id)
            .map_or_else(|| id.to_owned(), |p| format!("{} {}", p.name, p.version))
    }

    /// How our crates pull in `target`: for each of our crates that reaches it
    /// without going through another of ours, the shortest chain, e.g.
    /// `option-ext 0.2.0 <- dirs-sys 0.5.0 <- dirs 6.0.0 <- posbridge-cli 0.1.0`.
    /// Normal and build edges first; dev-dependency edges only when those find
    /// nothing.
    fn pulled_in_by(&self, target: &'a str) -> Vec<String> {
        if self.members.contains(target) {
            return vec!["one of our crates".to_owned()];
        }
        for runtime_only in [true, false] {
            let mut next_hop: HashMap<&str, &str> = HashMap::new();
            let mut queue = VecDeque::from([target]);
            let mut found = Vec::new();
            while let Some(id) = queue.pop_front() {
                for &(parent, runtime) in self.dependents.get(id).into_iter().flatten() {
                    if (runtime_only && !runtime) || parent == target || next_hop.contains_key(parent) {
                        continue;
                    }
                    next_hop.insert(parent, id);
                    if self.members.contains(parent) {
                        found.push(parent);
                    } else {
                        queue.push_back(parent);
                    }
                }
            }
            if found.is_empty() {
                continue;
            }
            found.sort_by_key(|id| self.label(id));
            return found
                .into_iter()
                .map(|member| {
                    let mut chain = vec![self.label(member)];
                    let mut at = member;
                    while let Some(&hop) = next_hop.get(at) {
                        chain.push(self.label(hop));
                        at = hop;
                    }
                    chain.reverse();
                    let chain = chain.join(" <- ");
                    if runtime_only {
                        chain
                    } else {
                        format!("{chain} (dev-dependency)")
                    }
                })
                .collect();
        }
        vec!["(no path from our crates)".to_owned()]
    }
}

/// Checks `cargo metadata`'s JSON: one major version each of [`SINGLE_MAJOR`], and
/// every package's licence.
pub fn evaluate(meta: &Value) -> Result<Outcome> {
    let graph = Graph::from_metadata(meta)?;
    let mut out = Outcome::default();

    let majors = major_versions(graph.packages.values().map(|p| (p.name, p.version)), SINGLE_MAJOR);
    let _ = writeln!(out.text, "one major version each of {}:", SINGLE_MAJOR.join(", "));
    for name in SINGLE_MAJOR {
        let Some(groups) = majors.get(*name) else {
            let _ = writeln!(out.text, "  {name:<8} not in the tree");
            continue;
        };
        let versions: Vec<&str> = groups.values().flatten().map(String::as_str).collect();
        let verdict = if groups.len() > 1 {
            let keys: Vec<&str> = groups.keys().map(String::as_str).collect();
            out.problems.push(format!(
                "{name}: {} incompatible versions in the tree ({}); keep one",
                groups.len(),
                keys.join(" and ")
            ));
            "  <- more than one"
        } else {
            ""
        };
        let _ = writeln!(out.text, "  {name:<8} {}{verdict}", versions.join(", "));
    }

    let mut failures = Vec::new();
    let mut excepted = BTreeSet::new();
    for (id, p) in &graph.packages {
        let verdict = match p.license {
            None => Err(format!(
                "no SPDX `license` expression{}",
                p.license_file
                    .map(|f| format!(" (only license-file {f})"))
                    .unwrap_or_default()
            )),
            Some(expr) => match satisfiable(expr, ALLOWED_LICENCES) {
                Ok(true) => Ok(()),
                Ok(false) => Err(format!("{expr:?} needs a licence outside the allow-list")),
                Err(e) => Err(format!("{expr:?} is not a valid SPDX expression: {e}")),
            },
        };
        let Err(why) = verdict else { continue };
        if let Some((_, reason)) = LICENCE_EXCEPTIONS.iter().find(|(name, _)| *name == p.name) {
            excepted.insert(format!("{} {}: {why}; excepted: {reason}", p.name, p.version));
            continue;
        }
        failures.push((*id, why));
    }
    let _ = writeln!(
        out.text,
        "licences: {} packages checked against {}",
        graph.packages.len(),
        ALLOWED_LICENCES.join(", ")
    );
    for line in &excepted {
        let _ = writeln!(out.text, "  excepted: {line}");
    }
    for (name, _) in LICENCE_EXCEPTIONS {
        if !graph.packages.values().any(|p| p.name == *name) {
            let _ = writeln!(
                out.text,
                "  note: the exception for {name} matches no package; remove it"
            );
        }
    }
    for (id, why) in failures {
        let mut problem = format!("licence: {}: {why}", graph.label(id));
        for chain in graph.pulled_in_by(id) {
            let _ = write!(problem, "\n      pulled in by {chain}");
        }
        out.problems.push(problem);
    }
    if out.problems.is_empty() {
        let _ = writeln!(out.text, "deps: ok");
    }
    Ok(out)
}

/// The semver compatibility class of a version: the major for `1.x.y`, `0.minor`
/// for `0.x` (`0.12` and `0.13` are incompatible), and the whole `0.0.patch` for
/// `0.0.x`.
pub fn major_key(version: &str) -> String {
    let core = version.split(['-', '+']).next().unwrap_or(version);
    let parts: Vec<&str> = core.split('.').collect();
    match parts.as_slice() {
        ["0", "0", patch, ..] => format!("0.0.{patch}"),
        ["0", minor, ..] => format!("0.{minor}"),
        [major, ..] => (*major).to_owned(),
        [] => version.to_owned(),
    }
}

/// For each of `names` found among `packages` (name, version): its versions,
/// grouped by [`major_key`]. More than one group means incompatible versions.
pub fn major_versions<'a>(
    packages: impl IntoIterator<Item = (&'a str, &'a str)>,
    names: &[&str],
) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let mut found: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (name, version) in packages {
        if names.contains(&name) {
            found
                .entry(name.to_owned())
                .or_default()
                .entry(major_key(version))
                .or_default()
                .insert(version.to_owned());
        }
    }
    found
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    With,
    Id(String),
}

fn tokenize(expr: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            // The deprecated crates.io form "MIT/Apache-2.0" means OR.
            '/' => tokens.push(Token::Or),
            c if is_id_char(c) => {
                let mut word = String::from(c);
                while let Some(&(_, c)) = chars.peek() {
                    if !is_id_char(c) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(match word.as_str() {
                    "AND" => Token::And,
                    "OR" => Token::Or,
                    "WITH" => Token::With,
                    _ => Token::Id(word),
                });
            }
            other => return Err(format!("unexpected {other:?} at byte {at}")),
        }
    }
    Ok(tokens)
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | ':')
}

/// A recursive-descent evaluator: OR of ANDs of (licence [WITH exception] | ( ... )).
struct Evaluator<'a> {
    tokens: Vec<Token>,
    at: usize,
    allowed: &'a [&'a str],
    depth: usize,
}

const MAX_DEPTH: usize = 32;

impl Evaluator<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn is_allowed(&self, licence: &str) -> bool {
        self.allowed.iter().any(|a| a.eq_ignore_ascii_case(licence))
    }

    fn or(&mut self) -> Result<bool, String> {
        let mut value = self.and()?;
        while self.eat(&Token::Or) {
            let right = self.and()?;
            value = value || right;
        }
        Ok(value)
    }

    fn and(&mut self) -> Result<bool, String> {
        let mut value = self.term()?;
        while self.eat(&Token::And) {
            let right = self.term()?;
            value = value && right;
        }
        Ok(value)
    }

    fn term(&mut self) -> Result<bool, String> {
        match self.next() {
            Some(Token::Open) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err("parentheses nested too deep".to_owned());
                }
                let value = self.or()?;
                if !self.eat(&Token::Close) {
                    return Err("missing `)`".to_owned());
                }
                self.depth -= 1;
                Ok(value)
            }
            Some(Token::Id(licence)) => {
                if self.eat(&Token::With) {
                    match self.next() {
                        Some(Token::Id(exception)) => Ok(self.is_allowed(&format!("{licence} WITH {exception}"))),
                        _ => Err(format!("`{licence} WITH` needs an exception name")),
                    }
                } else {
                    Ok(self.is_allowed(&licence))
                }
            }
            Some(other) => Err(format!("expected a licence, found {other:?}")),
            None => Err("expected a licence, found the end".to_owned()),
        }
    }
}

/// Whether the SPDX licence expression `expr` can be satisfied by choosing only
/// licences in `allowed`: `A OR B` if either side can, `A AND B` if both can, `L WITH
/// E` if the entry `"L WITH E"` is allowed; `AND` binds tighter than `OR`. The
/// deprecated crates.io separator `/` reads as `OR`. Licence names compare
/// case-insensitively; the operators must be upper case. A malformed expression is
/// an error.
pub fn satisfiable(expr: &str, allowed: &[&str]) -> Result<bool, String> {
    let mut evaluator = Evaluator {
        tokens: tokenize(expr)?,
        at: 0,
        allowed,
        depth: 0,
    };
    let value = evaluator.or()?;
    match evaluator.peek() {
        None => Ok(value),
        Some(extra) => Err(format!("unexpected {extra:?} after a complete expression")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(expr: &str) -> bool {
        satisfiable(expr, ALLOWED_LICENCES).unwrap()
    }

    #[test]
    fn satisfiable_expressions() {
        assert!(ok("MIT"));
        assert!(ok("MIT OR Apache-2.0"));
        assert!(ok("Apache-2.0 OR MIT"));
        assert!(ok("Unlicense OR MIT"));
        assert!(ok("MIT OR Apache-2.0 OR LGPL-2.1-or-later"));
        assert!(ok("MPL-2.0 OR MIT"));
        assert!(ok(
            "ISC AND (Apache-2.0 OR ISC) AND Apache-2.0 AND MIT AND BSD-3-Clause"
        ));
        assert!(ok("mit OR apache-2.0"));
    }

    #[test]
    fn unsatisfiable_expressions() {
        assert!(!ok("MPL-2.0"));
        assert!(!ok("GPL-3.0-only"));
        assert!(!ok("MIT AND LGPL-2.1-or-later"));
        assert!(!ok("LicenseRef-Proprietary"));
        assert!(!ok("OpenSSL"));
        assert!(!ok("GPL-2.0+"));
    }

    #[test]
    fn with_needs_the_exact_pair_allowed() {
        assert!(ok("Apache-2.0 WITH LLVM-exception"));
        assert!(ok("Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT"));
        assert!(!ok("GPL-2.0-only WITH Classpath-exception-2.0"));
        assert!(!ok("Apache-2.0 WITH Some-other-exception"));
        assert!(ok("Apache-2.0 WITH Some-other-exception OR MIT"));
    }

    #[test]
    fn parentheses_and_precedence() {
        // AND binds tighter than OR: this is MPL OR (MIT AND Unicode).
        assert!(ok("MPL-2.0 OR MIT AND Unicode-3.0"));
        // With parentheses it needs MPL or MIT, and Unicode.
        assert!(ok("(MPL-2.0 OR MIT) AND Unicode-3.0"));
        assert!(!ok("(MPL-2.0 OR MIT) AND GPL-3.0-only"));
        assert!(!ok("MIT AND (MPL-2.0 OR GPL-3.0-only)"));
        assert!(ok("((MIT))"));
        assert!(ok("(MIT OR Apache-2.0) AND Unicode-3.0"));
    }

    #[test]
    fn the_legacy_slash_means_or() {
        assert!(ok("MIT/Apache-2.0"));
        assert!(ok("Unlicense/MIT"));
        assert!(!ok("MPL-2.0/GPL-3.0-only"));
    }

    #[test]
    fn malformed_expressions_are_errors_not_panics() {
        for bad in [
            "",
            "   ",
            "MIT OR",
            "OR MIT",
            "MIT AND",
            "(MIT",
            "MIT)",
            "MIT Apache-2.0",
            "MIT and Apache-2.0",
            "Apache-2.0 WITH",
            "Apache-2.0 WITH (LLVM-exception)",
            "(MIT) WITH LLVM-exception",
            "MIT, Apache-2.0",
            "MIT OR OR Apache-2.0",
            "()",
            &"(".repeat(10_000),
            &format!("{}MIT{}", "(".repeat(500), ")".repeat(500)),
        ] {
            assert!(
                satisfiable(bad, ALLOWED_LICENCES).is_err(),
                "{bad:?} should be an error"
            );
        }
    }

    #[test]
    fn major_keys() {
        assert_eq!(major_key("1.54.1"), "1");
        assert_eq!(major_key("0.13.5"), "0.13");
        assert_eq!(major_key("0.0.3"), "0.0.3");
        assert_eq!(major_key("2.0.0-rc.1"), "2");
        assert_eq!(major_key("0.23.46+build"), "0.23");
    }

    #[test]
    fn major_version_grouping() {
        let packages = [
            ("tokio", "1.2.0"),
            ("tokio", "1.54.1"),
            ("hyper", "0.14.28"),
            ("hyper", "1.0.0"),
            ("reqwest", "0.12.1"),
            ("reqwest", "0.13.5"),
            ("rustls", "0.23.1"),
            ("serde", "1.0.0"),
        ];
        let found = major_versions(packages, SINGLE_MAJOR);
        assert_eq!(found["tokio"].len(), 1);
        assert_eq!(found["tokio"]["1"].len(), 2);
        assert_eq!(found["hyper"].keys().collect::<Vec<_>>(), ["0.14", "1"]);
        assert_eq!(found["reqwest"].keys().collect::<Vec<_>>(), ["0.12", "0.13"]);
        assert_eq!(found["rustls"].len(), 1);
        assert!(!found.contains_key("serde"));
    }

    fn package(name: &str, version: &str, license: Option<&str>) -> Value {
        json!({
            "id": format!("{name}@{version}"),
            "name": name,
            "version": version,
            "license": license,
            "license_file": if license.is_none() { json!("LICENSE") } else { Value::Null },
        })
    }

    fn node(id: &str, deps: &[(&str, Option<&str>)]) -> Value {
        json!({
            "id": id,
            "deps": deps.iter().map(|(pkg, kind)| json!({"pkg": pkg, "dep_kinds": [{"kind": kind}]})).collect::<Vec<_>>(),
        })
    }

    #[test]
    fn evaluate_reports_versions_licences_and_who_pulls_them_in() {
        let meta = json!({
            "packages": [
                package("ours", "0.1.0", Some("MIT OR Apache-2.0")),
                package("dirs", "6.0.0", Some("MIT OR Apache-2.0")),
                package("option-ext", "0.2.0", Some("MPL-2.0")),
                package("no-expr", "1.0.0", None),
                package("tokio", "1.0.0", Some("MIT")),
                package("tokio", "1.5.0", Some("MIT")),
                package("hyper", "0.14.0", Some("MIT")),
                package("hyper", "1.0.0", Some("MIT")),
                package("not-resolved", "1.0.0", Some("GPL-3.0-only")),
            ],
            "workspace_members": ["ours@0.1.0"],
            "resolve": {"nodes": [
                node("ours@0.1.0", &[("dirs@6.0.0", None), ("no-expr@1.0.0", Some("dev")),
                                    ("tokio@1.5.0", None), ("hyper@1.0.0", None)]),
                node("dirs@6.0.0", &[("option-ext@0.2.0", None), ("tokio@1.0.0", Some("build"))]),
                node("option-ext@0.2.0", &[]),
                node("no-expr@1.0.0", &[("hyper@0.14.0", None)]),
                node("tokio@1.0.0", &[]),
                node("tokio@1.5.0", &[]),
                node("hyper@0.14.0", &[]),
                node("hyper@1.0.0", &[]),
            ]},
        });
        let outcome = evaluate(&meta).unwrap();
        assert!(outcome.text.contains("tokio    1.0.0, 1.5.0\n"), "{}", outcome.text);
        assert!(outcome.text.contains("reqwest  not in the tree"), "{}", outcome.text);
        let problems = outcome.problems.join("\n");
        assert_eq!(outcome.problems.len(), 3, "{problems}");
        assert!(problems.contains("hyper: 2 incompatible versions in the tree (0.14 and 1)"));
        assert!(problems.contains(
            "licence: option-ext 0.2.0: \"MPL-2.0\" needs a licence outside the allow-list\n      \
             pulled in by option-ext 0.2.0 <- dirs 6.0.0 <- ours 0.1.0"
        ));
        assert!(problems.contains(
            "licence: no-expr 1.0.0: no SPDX `license` expression (only license-file LICENSE)\n      \
             pulled in by no-expr 1.0.0 <- ours 0.1.0 (dev-dependency)"
        ));
        // Only resolved packages count.
        assert!(!problems.contains("not-resolved"));
    }

    /// The real tree parses (no assertion on its content: that is the gate's job).
    #[test]
    fn the_workspace_metadata_parses() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let outcome = check(root, &std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())).unwrap();
        assert!(outcome.text.contains("packages checked"), "{}", outcome.text);
    }
}
