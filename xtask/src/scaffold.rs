//! `cargo xtask new-vendor NAME`: a working vendor crate from the templates in
//! `xtask/templates/vendor/` (JSON over HTTPS with a bearer token and a push of
//! sales: the most common shape), and the registry line that makes the facade, the
//! CLI, the sandbox, the fuzz target and the benchmarks see it.
//!
//! What it writes:
//! - `crates/posbridge-NAME/`: the crate (client, config, wire, map, error parser,
//!   descriptor, fuzz entry, bench hook, sandbox imitation), its six required
//!   conformance fixtures and its test files;
//! - `docs/vendors/NAME.md`: the note to fill in with the vendor's document;
//! - the registry: the workspace member and dependency (root `Cargo.toml`), the
//!   facade's feature, optional dependency and sandbox forward
//!   (`crates/posbridge/Cargo.toml`) and the one line in
//!   `crates/posbridge/src/registry.rs`.
//!
//! It refuses a name that is not lowercase ASCII letters and digits (starting with a
//! letter), or that a crate or registry line already has; it changes nothing then.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Value};

/// The names a template spells with placeholders: `__name__` (`kedai`), `__Name__`
/// (`Kedai`, for types), `__NAME__` (`KEDAI`) and `__Display__` (`Kedai`).
#[derive(Debug, Clone)]
pub(crate) struct Names {
    name: String,
    camel: String,
    upper: String,
}

impl Names {
    /// Checks `name` and derives the others.
    pub(crate) fn new(name: &str) -> Result<Self> {
        let ok = name.len() >= 2
            && name.len() <= 32
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !ok {
            bail!(
                "the vendor name must be 2 to 32 lowercase ASCII letters and digits, starting with a letter \
                 (it is the crate suffix, the feature, the config section and the sandbox path): {name:?}"
            );
        }
        let mut camel = name[..1].to_ascii_uppercase();
        camel.push_str(&name[1..]);
        Ok(Self {
            name: name.to_owned(),
            upper: name.to_ascii_uppercase(),
            camel,
        })
    }

    fn render(&self, text: &str) -> String {
        text.replace("__name__", &self.name)
            .replace("__Name__", &self.camel)
            .replace("__NAME__", &self.upper)
            .replace("__Display__", &self.camel)
    }
}

/// Scaffolds vendor `name` in the workspace at `root`; returns what it wrote.
pub(crate) fn new_vendor(root: &Path, name: &str) -> Result<Vec<PathBuf>> {
    let names = Names::new(name)?;
    let crate_dir = root.join("crates").join(format!("posbridge-{name}"));
    if crate_dir.exists() {
        bail!("{} exists already", crate_dir.display());
    }
    let registry_path = root.join("crates/posbridge/src/registry.rs");
    let registry = std::fs::read_to_string(&registry_path).context("reading the facade's registry")?;
    let line = format!("    \"{name}\", {name} => posbridge_{name};\n");
    if registry.contains(&format!("\"{name}\",")) {
        bail!("the registry already has a line for {name:?}");
    }
    // Everything is read and checked before anything is written.
    let templates = root.join("xtask/templates/vendor");
    let mut files = Vec::new();
    collect(&templates, &templates, &mut files)?;
    let root_manifest = root.join("Cargo.toml");
    let facade_manifest = root.join("crates/posbridge/Cargo.toml");
    let new_root = add_to_workspace(&std::fs::read_to_string(&root_manifest)?, name)?;
    let new_facade = add_to_facade(&std::fs::read_to_string(&facade_manifest)?, name)?;
    // The line goes last in the `registry! { … }` invocation.
    let Some(end) = registry
        .find("\nregistry! {")
        .and_then(|start| registry[start..].find("\n}\n").map(|end| start + end + 1))
    else {
        bail!("crates/posbridge/src/registry.rs has no `registry! {{ … }}` block to add the line to");
    };
    let new_registry = format!("{}{line}{}", &registry[..end], &registry[end..]);
    let doc_template = root.join("xtask/templates/vendor-note.md.tmpl");
    let note = names.render(&std::fs::read_to_string(&doc_template).context("reading the vendor note template")?);

    let mut written = Vec::new();
    for relative in files {
        let text = std::fs::read_to_string(templates.join(&relative))?;
        let target = crate_dir.join(relative.with_extension(""));
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&target, names.render(&text)).with_context(|| format!("writing {}", target.display()))?;
        written.push(target);
    }
    let note_path = root.join("docs/vendors").join(format!("{name}.md"));
    if !note_path.exists() {
        std::fs::write(&note_path, note)?;
        written.push(note_path);
    }
    std::fs::write(&root_manifest, new_root)?;
    std::fs::write(&facade_manifest, new_facade)?;
    std::fs::write(&registry_path, new_registry)?;
    written.extend([root_manifest, facade_manifest, registry_path]);
    Ok(written)
}

/// Every `*.tmpl` file below `dir`, relative to `base`, sorted.
fn collect(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "tmpl") {
            out.push(path.strip_prefix(base)?.to_path_buf());
        }
    }
    Ok(())
}

/// The root manifest with the crate as a workspace member and dependency.
fn add_to_workspace(text: &str, name: &str) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("the root Cargo.toml")?;
    let member = format!("crates/posbridge-{name}");
    let members = doc["workspace"]["members"]
        .as_array_mut()
        .context("the root Cargo.toml has no [workspace] members array")?;
    if !members.iter().any(|m| m.as_str() == Some(member.as_str())) {
        // After the last vendor-looking member, so the list keeps its grouping.
        let at = members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.as_str().is_some_and(|s| s.starts_with("crates/posbridge-")))
            .map(|(i, _)| i + 1)
            .last()
            .unwrap_or(members.len());
        members.insert(at, member.as_str());
        for m in members.iter_mut() {
            m.decor_mut().set_prefix("\n    ");
        }
        members.set_trailing("\n");
        members.set_trailing_comma(true);
    }
    let deps = doc["workspace"]["dependencies"]
        .as_table_mut()
        .context("the root Cargo.toml has no [workspace.dependencies]")?;
    let mut path = InlineTable::new();
    path.insert("path", Value::from(member.as_str()));
    deps.insert(&format!("posbridge-{name}"), Item::Value(Value::InlineTable(path)));
    Ok(doc.to_string())
}

/// The facade's manifest with the vendor's feature, its optional dependency, and its
/// place in `full` and `sandbox`.
fn add_to_facade(text: &str, name: &str) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("crates/posbridge/Cargo.toml")?;
    let krate = format!("posbridge-{name}");
    let features = doc["features"]
        .as_table_mut()
        .context("crates/posbridge/Cargo.toml has no [features]")?;
    let mut own = Array::new();
    own.push(format!("dep:{krate}"));
    features.insert(name, Item::Value(Value::Array(own)));
    for (feature, entry) in [("full", name.to_owned()), ("sandbox", format!("{krate}?/sandbox"))] {
        let list = features
            .get_mut(feature)
            .and_then(Item::as_array_mut)
            .with_context(|| format!("crates/posbridge/Cargo.toml has no `{feature}` feature list"))?;
        if !list.iter().any(|v| v.as_str() == Some(entry.as_str())) {
            list.push(entry.as_str());
        }
    }
    let deps = doc["dependencies"]
        .as_table_mut()
        .context("crates/posbridge/Cargo.toml has no [dependencies]")?;
    let mut dep = InlineTable::new();
    dep.insert("workspace", Value::from(true));
    dep.insert("optional", Value::from(true));
    deps.insert(&krate, Item::Value(Value::InlineTable(dep)));
    Ok(doc.to_string())
}

/// The scaffold proven end to end: a copy of the workspace at `root` (the files git
/// tracks, and untracked ones it does not ignore) in a temporary directory,
/// `new-vendor kedai` in it, then in the copy `cargo xtask conformance` (which
/// generates kedai's conformance tests and runs every vendor's) and clippy and the
/// tests of the new crate, and `posbridge --json demo`, which must show it. The copy
/// builds in the workspace's own target directory. Returns how long it took.
pub(crate) fn check_in_copy(root: &Path, cargo: &str) -> Result<std::time::Duration> {
    let started = std::time::Instant::now();
    let copy = std::env::temp_dir().join(format!("posbridge-scaffold-{}", std::process::id()));
    if copy.exists() {
        std::fs::remove_dir_all(&copy)?;
    }
    let result = (|| -> Result<()> {
        copy_workspace(root, &copy)?;
        let written = new_vendor(&copy, "kedai")?;
        crate::say(&format!(
            "new-vendor kedai wrote {} files in {}",
            written.len(),
            copy.display()
        ));
        // The workspace's own target directory: the copy's crates have the same names
        // and hashes as the workspace's, so every dependency is reused as built (a
        // target of its own rebuilt them all: minutes, and gigabytes a CI machine
        // ran out of). The copy's builds of the workspace crates replace the
        // workspace's in place; their fingerprints name the copy's sources, which are
        // gone afterwards, so the next build in the workspace rebuilds its own
        // crates (not the dependencies) before using them.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let run = |args: &[&str]| -> Result<()> {
            crate::say(&format!("\n== scaffold check: cargo {}", args.join(" ")));
            let status = std::process::Command::new(cargo)
                .current_dir(&copy)
                .env("CARGO_TARGET_DIR", &target)
                .args(args)
                .status()
                .with_context(|| format!("running cargo {}", args.join(" ")))?;
            if !status.success() {
                bail!(
                    "the scaffolded vendor failed: cargo {} (in {})",
                    args.join(" "),
                    copy.display()
                );
            }
            Ok(())
        };
        run(&["run", "-q", "-p", "xtask", "--", "conformance"])?;
        run(&[
            "clippy",
            "-p",
            "posbridge-kedai",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ])?;
        run(&["test", "-q", "-p", "posbridge-kedai", "--all-features"])?;
        // The demo's day reaches the new vendor through its registry line alone.
        crate::say("\n== scaffold check: posbridge demo --json");
        let demo = std::process::Command::new(cargo)
            .current_dir(&copy)
            .env("CARGO_TARGET_DIR", &target)
            .args(["run", "-q", "-p", "posbridge-cli", "--", "--json", "demo"])
            .output()
            .context("running posbridge demo")?;
        let out = String::from_utf8_lossy(&demo.stdout);
        if !demo.status.success() || !out.contains("\"kedai\"") {
            bail!(
                "posbridge demo in the copy did not show kedai (exit {:?}):\n{}\n{}",
                demo.status.code(),
                out.chars().take(2000).collect::<String>(),
                String::from_utf8_lossy(&demo.stderr)
                    .chars()
                    .take(2000)
                    .collect::<String>()
            );
        }
        Ok(())
    })();
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&copy);
    }
    result.map(|()| started.elapsed())
}

/// Copies the workspace's source files (what `git ls-files` lists, without deleted
/// ones; every file but `target/` and `.git/` when git is not there).
fn copy_workspace(root: &Path, to: &Path) -> Result<()> {
    let listed = std::process::Command::new("git")
        .current_dir(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    let files: Vec<PathBuf> = match listed {
        Some(out) => out
            .stdout
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
            .collect(),
        None => {
            let mut all = Vec::new();
            walk(root, root, &mut all)?;
            all
        }
    };
    for relative in files {
        let from = root.join(&relative);
        if !from.is_file() {
            continue;
        }
        let dest = to.join(&relative);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(&from, &dest).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            walk(base, &path, out)?;
        } else {
            out.push(path.strip_prefix(base)?.to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn names_are_checked_and_derived() {
        let n = Names::new("kedai").unwrap();
        assert_eq!(
            n.render("posbridge___name__::__Name__ __NAME__"),
            "posbridge_kedai::Kedai KEDAI"
        );
        for bad in ["", "k", "Kedai", "ke-dai", "1kedai", "kedai_pos", "é"] {
            assert!(Names::new(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_manifests_gain_the_vendor_and_keep_their_comments() {
        let root = "[workspace]\nmembers = [\n    \"crates/posbridge\",\n    \"crates/posbridge-cloudma\",\n    \"xtask\",\n]\n\n[workspace.dependencies]\n# our crates\nposbridge = { path = \"crates/posbridge\" }\n";
        let out = add_to_workspace(root, "kedai").unwrap();
        assert!(
            out.contains("\"crates/posbridge-cloudma\",\n    \"crates/posbridge-kedai\",\n    \"xtask\""),
            "{out}"
        );
        assert!(
            out.contains("# our crates") && out.contains("posbridge-kedai = { path = \"crates/posbridge-kedai\" }")
        );

        let facade = "[features]\n## Every vendor.\nfull = [\"cloudma\"]\nsandbox = [\"dep:posbridge-sandbox\"]\n\n[dependencies]\nposbridge-cloudma = { workspace = true, optional = true }\n";
        let out = add_to_facade(facade, "kedai").unwrap();
        assert!(out.contains("## Every vendor."), "{out}");
        assert!(out.contains("kedai = [\"dep:posbridge-kedai\"]"), "{out}");
        assert!(out.contains("full = [\"cloudma\", \"kedai\"]"), "{out}");
        assert!(out.contains("\"posbridge-kedai?/sandbox\""), "{out}");
        assert!(
            out.contains("posbridge-kedai = { workspace = true, optional = true }"),
            "{out}"
        );
    }
}
