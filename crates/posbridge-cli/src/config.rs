//! The CLI's configuration: a TOML file with one section per vendor (and, for many
//! merchants, `[tenants.<name>.<vendor>]`), secrets from environment variables.
//!
//! A section the CLI does not know (`[cloudmaa]`, `[tenants.colombo.foobar]`) is an
//! error naming it and the closest known name, never silently ignored; a key a
//! vendor's section does not know is refused when its config is read.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use posbridge::VendorConfig;

use crate::exit::{CliError, Exit};
use crate::quote::{quote, shorten, shorten_quoted};

/// The top-level sections that are not vendors.
const OTHER_SECTIONS: [&str; 3] = ["outbox", "serve", "tenants"];

/// A compiled-in vendor, as the registry describes it.
pub type VendorInfo = &'static posbridge::VendorDescriptor;

/// The loaded configuration file (possibly empty).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sections in force: the file's top level, or the tenant's.
    table: toml::Table,
    /// The whole file, for `[outbox]` and for other tenants' sections.
    root: toml::Table,
    /// The config file's directory, against which relative paths in it resolve.
    dir: Option<PathBuf>,
    /// Whether a config file was found (or named).
    has_file: bool,
    tenant: Option<String>,
}

/// The default config file: `<platform config dir>/posbridge/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    use etcetera::BaseStrategy as _;
    etcetera::base_strategy::choose_native_strategy()
        .ok()
        .map(|s| s.config_dir().join("posbridge").join("config.toml"))
}

/// The `[outbox]` section: where the outbox lives and how it retries.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSection {
    /// `sqlite://FILE` (relative to the config file) or `postgres://…`.
    pub database: Option<String>,
    /// How long a worker's claim lasts without renewal.
    pub lease_secs: Option<u64>,
    /// Attempts after which a delivery that keeps failing goes to `dead`.
    pub max_attempts: Option<u32>,
    /// First retry delay.
    pub backoff_base_ms: Option<u64>,
    /// Longest retry delay.
    pub backoff_max_ms: Option<u64>,
    /// How often an idle worker looks for due work.
    pub poll_interval_ms: Option<u64>,
    /// Database connections per process (a worker adds its `--workers`).
    pub max_connections: Option<u32>,
    /// Per-target protection, keyed `vendor` (every tenant) or `tenant/vendor`.
    #[serde(default)]
    pub targets: std::collections::BTreeMap<String, OutboxTargetSection>,
}

/// The `[serve]` section: how `posbridge serve` listens and limits its callers.
/// Secrets are not here: the console's session secret comes from
/// `POSBRIDGE_SESSION_SECRET`, each webhook's signing secret from the environment
/// variable its section names.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeSection {
    /// Address to bind (default 127.0.0.1; put a reverse proxy with TLS in front).
    pub bind: Option<std::net::IpAddr>,
    /// Port (default 8080).
    pub port: Option<u16>,
    /// Largest request body, in bytes.
    pub body_limit: Option<usize>,
    /// Requests per minute per API key.
    pub requests_per_minute: Option<u32>,
    /// How long stock and product reads are cached, in seconds.
    pub read_cache_secs: Option<u64>,
    /// Most sales per batch request.
    pub batch_limit: Option<usize>,
    /// How long a console login lasts, in hours.
    pub session_hours: Option<u64>,
    /// Mark the console cookie Secure (TLS ends at a proxy in front).
    pub secure_cookies: Option<bool>,
    /// Webhooks by tenant (`default` for the top-level vendors).
    #[serde(default)]
    pub webhooks: std::collections::BTreeMap<String, WebhookSection>,
}

/// `[serve.webhooks.<tenant>]`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// The POS's URL the tenant's delivery state changes are POSTed to.
    pub url: String,
    /// The environment variable holding the signing secret
    /// [default: POSBRIDGE_WEBHOOK_SECRET_<TENANT>].
    pub secret_env: Option<String>,
}

/// `[outbox.targets."<target>"]`: what one worker process sends a target at most.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxTargetSection {
    /// Requests per second.
    pub requests_per_second: Option<u32>,
    /// Deliveries in flight at once.
    pub max_in_flight: Option<usize>,
}

impl Settings {
    /// Loads `path`, or the default file when it exists, or nothing.
    pub fn load(path: Option<&Path>, tenant: Option<&str>) -> Result<Self, CliError> {
        let (path, explicit) = match path {
            Some(p) => (Some(p.to_path_buf()), true),
            None => (default_path().filter(|p| p.exists()), false),
        };
        let mut table = toml::Table::new();
        if let Some(p) = &path {
            let text = match std::fs::read_to_string(p) {
                Ok(t) => t,
                Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => {
                    return Err(CliError::new(
                        Exit::Usage,
                        anyhow::anyhow!("cannot read config file {}: {e}", shorten(&p.display().to_string())),
                    )
                    .hint("create one with `posbridge config init`"));
                }
            };
            let name = shorten(&p.display().to_string());
            table = text.parse::<toml::Table>().map_err(|e| {
                // Not `e`'s own text: it quotes the offending line, which may be
                // megabytes long or hold a secret.
                let at = e.span().map(|s| line_and_column(&text, s.start)).unwrap_or_default();
                CliError::new(
                    Exit::Usage,
                    anyhow::anyhow!(
                        "config file {name} is not valid TOML{at}: {}",
                        shorten_quoted(e.message().trim_end())
                    ),
                )
            })?;
            check_sections(&table).map_err(|e| {
                CliError::new(Exit::Usage, anyhow::anyhow!("config file {name}: {}", e.message)).hint(e.hint)
            })?;
            warn_if_secrets_readable(p, &table);
        }
        let root = Self {
            table: table.clone(),
            root: table,
            dir: path.as_ref().and_then(|p| p.parent().map(Path::to_path_buf)),
            has_file: path.is_some(),
            tenant: None,
        };
        root.for_tenant(tenant)
    }

    /// The same file, with the sections of `tenant` in force (`None`: the top level).
    pub fn for_tenant(&self, tenant: Option<&str>) -> Result<Self, CliError> {
        let mut table = self.root.clone();
        if let Some(t) = tenant {
            let tenants = self.root.get("tenants").and_then(|v| v.as_table());
            let section = tenants.and_then(|ts| ts.get(t)).and_then(|v| v.as_table()).cloned();
            table = match section {
                Some(s) => s,
                None if !self.has_file => toml::Table::new(),
                None => {
                    let known: Vec<&str> = tenants
                        .map(|ts| ts.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    return Err(CliError::new(
                        Exit::Usage,
                        anyhow::anyhow!(
                            "tenant {} has no [tenants.{}] section in the config file{}",
                            quote(t),
                            shorten(t),
                            did_you_mean(t, &known)
                        ),
                    ));
                }
            };
        }
        Ok(Self {
            table,
            root: self.root.clone(),
            dir: self.dir.clone(),
            has_file: self.has_file,
            tenant: tenant.map(str::to_owned),
        })
    }

    /// The tenant whose sections are in force, if one was chosen.
    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    /// The directory relative paths in the config file resolve against: the file's
    /// own, else where the default config file would be.
    pub fn config_dir(&self) -> Option<PathBuf> {
        self.dir
            .clone()
            .or_else(|| default_path().and_then(|p| p.parent().map(Path::to_path_buf)))
    }

    /// The config file's directory, when a config file was found or named.
    pub fn file_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The top-level `[serve]` section, if any.
    pub fn serve_section(&self) -> Result<ServeSection, CliError> {
        match self.root.get("serve") {
            None => Ok(ServeSection::default()),
            Some(v @ toml::Value::Table(_)) => v.clone().try_into::<ServeSection>().map_err(|e| {
                CliError::new(
                    Exit::Usage,
                    anyhow::anyhow!("the [serve] section is not valid: {}", shorten_quoted(e.message())),
                )
            }),
            Some(_) => Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!("[serve] in the config file must be a table"),
            )),
        }
    }

    /// The tenants of `[tenants.NAME]` sections, in name order.
    pub fn tenant_names(&self) -> Vec<String> {
        self.root
            .get("tenants")
            .and_then(|t| t.as_table())
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The top-level `[outbox]` section (shared by every tenant), if any.
    pub fn outbox_section(&self) -> Result<OutboxSection, CliError> {
        match self.root.get("outbox") {
            None => Ok(OutboxSection::default()),
            Some(v @ toml::Value::Table(_)) => v.clone().try_into::<OutboxSection>().map_err(|e| {
                CliError::new(
                    Exit::Usage,
                    anyhow::anyhow!("the [outbox] section is not valid: {}", shorten_quoted(e.message())),
                )
            }),
            Some(_) => Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!("[outbox] in the config file must be a table"),
            )),
        }
    }

    fn env_name(&self, vendor: &str, field: &str) -> String {
        let mut name = String::from("POSBRIDGE_");
        if let Some(t) = &self.tenant {
            name.push_str(&t.to_ascii_uppercase().replace(['-', '.', ' '], "_"));
            name.push('_');
        }
        name.push_str(&vendor.to_ascii_uppercase());
        name.push('_');
        name.push_str(&field.to_ascii_uppercase());
        name
    }

    /// Where the user fixes `vendor`'s credentials.
    pub fn credentials_hint(&self, vendor: &VendorInfo) -> String {
        let vars: Vec<String> = vendor
            .secret_fields()
            .iter()
            .map(|f| self.env_name(vendor.name(), f))
            .collect();
        format!(
            "check {}'s credentials: set {} or the [{}] section of the config file",
            vendor.name(),
            vars.join(", "),
            vendor.name()
        )
    }

    /// Whether `vendor` has a section or a secret in the environment.
    pub fn is_configured(&self, vendor: &VendorInfo) -> bool {
        self.table.contains_key(vendor.name())
            || vendor
                .secret_fields()
                .iter()
                .any(|f| std::env::var_os(self.env_name(vendor.name(), f)).is_some())
    }

    /// The vendor's connector config: its section, with secrets and `base_url` taken
    /// from `POSBRIDGE_<VENDOR>_<FIELD>` when set.
    pub fn vendor_config(&self, vendor: &VendorInfo) -> Result<VendorConfig, CliError> {
        self.vendor_config_with(vendor, true)
    }

    /// The vendor's `id_map_file`, resolved against the config file's directory, when
    /// its section names one.
    pub fn id_map_file(&self, vendor: &VendorInfo) -> Result<Option<PathBuf>, CliError> {
        match self.table.get(vendor.name()).and_then(|t| t.get("id_map_file")) {
            None => Ok(None),
            Some(toml::Value::String(file)) => {
                let file = PathBuf::from(file);
                Ok(Some(match &self.dir {
                    Some(dir) if file.is_relative() => dir.join(file),
                    _ => file,
                }))
            }
            Some(_) => Err(CliError::new(
                Exit::Usage,
                anyhow::anyhow!("[{}] id_map_file must be a path", vendor.name()),
            )),
        }
    }

    /// [`Settings::vendor_config`], without reading the section's `id_map_file` when
    /// `load_id_map` is false (`idmap build` writes that file, which may not exist yet).
    pub fn vendor_config_with(&self, vendor: &VendorInfo, load_id_map: bool) -> Result<VendorConfig, CliError> {
        let mut section = match self.table.get(vendor.name()) {
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => {
                return Err(CliError::new(
                    Exit::Usage,
                    anyhow::anyhow!("[{}] in the config file must be a table", vendor.name()),
                ));
            }
            None => toml::Table::new(),
        };
        for field in vendor.secret_fields().iter().copied().chain(["base_url"]) {
            if let Ok(v) = std::env::var(self.env_name(vendor.name(), field)) {
                section.insert(field.to_owned(), toml::Value::String(v));
            }
        }
        for field in vendor.secret_fields() {
            if !section.contains_key(*field) {
                return Err(
                    CliError::new(Exit::Usage, anyhow::anyhow!("{}: no {field} configured", vendor.name())).hint(
                        format!(
                            "set {} or add {field} to the [{}] section",
                            self.env_name(vendor.name(), field),
                            vendor.name()
                        ),
                    ),
                );
            }
        }
        // Relative paths in the file are relative to the file, not to where the CLI runs.
        if let (Some(dir), Some(toml::Value::String(file))) = (&self.dir, section.get("token_file"))
            && Path::new(file).is_relative()
        {
            let resolved = dir.join(file).display().to_string();
            section.insert("token_file".into(), toml::Value::String(resolved));
        }
        if let Some(file) = section.remove("id_map_file").filter(|_| load_id_map) {
            let file = file.as_str().map(PathBuf::from).ok_or_else(|| {
                CliError::new(
                    Exit::Usage,
                    anyhow::anyhow!("[{}] id_map_file must be a path", vendor.name()),
                )
            })?;
            let file = match &self.dir {
                Some(dir) if file.is_relative() => dir.join(file),
                _ => file,
            };
            let bad = |e: String| {
                CliError::new(
                    Exit::Usage,
                    anyhow::anyhow!("[{}] id_map_file: {}", vendor.name(), shorten_quoted(&e)),
                )
            };
            let map = posbridge::InMemoryIdMap::from_json_file(&file).map_err(|e| bad(e.to_string()))?;
            let value = toml::Value::try_from(&map).map_err(|e| bad(e.to_string()))?;
            section.insert("id_map".into(), value);
        }
        section.insert("vendor".into(), toml::Value::String(vendor.name().to_owned()));
        toml::Value::Table(section).try_into::<VendorConfig>().map_err(|e| {
            CliError::new(
                Exit::Usage,
                anyhow::anyhow!(
                    "the [{}] section is not valid: {}",
                    vendor.name(),
                    shorten_quoted(e.message().trim_end())
                ),
            )
        })
    }
}

/// ` at line L, column C` for a byte offset in `text`.
fn line_and_column(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" at line {line}, column {column}")
}

/// Why a config file's sections cannot be right.
#[derive(Debug)]
struct SectionError {
    message: String,
    hint: String,
}

/// Checks that every top-level section is a vendor of this build, `[outbox]` or
/// `[tenants]`, and that every `[tenants.NAME]` holds only vendor sections: a misspelt
/// section would otherwise be ignored and its vendor silently left unconfigured.
/// (Keys inside a vendor's section are checked when its config is read; those of
/// `[outbox]` when an outbox command reads it.)
fn check_sections(root: &toml::Table) -> Result<(), SectionError> {
    let vendors: Vec<&'static str> = posbridge::vendors().iter().map(|v| v.name()).collect();
    let mut top = vendors.clone();
    top.extend(OTHER_SECTIONS);
    for (key, value) in root {
        if !top.contains(&key.as_str()) {
            return Err(unknown(&shorten(key), key, value, &top));
        }
    }
    let Some(tenants) = root.get("tenants") else {
        return Ok(());
    };
    let Some(tenants) = tenants.as_table() else {
        return Err(SectionError {
            message: "tenants must be a table: [tenants.NAME.VENDOR]".to_owned(),
            hint: "one merchant's sections go under [tenants.NAME], e.g. [tenants.colombo.cloudma]".to_owned(),
        });
    };
    for (tenant, sections) in tenants {
        let Some(sections) = sections.as_table() else {
            return Err(SectionError {
                message: format!("tenants.{} must be a table of vendor sections", shorten(tenant)),
                hint: format!("e.g. [tenants.{}.cloudma]", shorten(tenant)),
            });
        };
        for (key, value) in sections {
            if !vendors.contains(&key.as_str()) {
                let path = format!("tenants.{}.{}", shorten(tenant), shorten(key));
                let mut e = unknown(&path, key, value, &vendors);
                e.hint = format!("a tenant's sections are its vendors: {}", vendors.join(", "));
                return Err(e);
            }
        }
    }
    Ok(())
}

/// The error for an unknown `key` (shown as `path`) among `known`.
fn unknown(path: &str, key: &str, value: &toml::Value, known: &[&str]) -> SectionError {
    let what = if value.is_table() {
        format!("unknown section [{path}]")
    } else {
        format!("unknown key {path}")
    };
    SectionError {
        message: format!("{what}{}", did_you_mean(key, known)),
        hint: format!("the sections this build knows: {}", known.join(", ")),
    }
}

/// `"; did you mean NAME?"` for the name among `known` closest to `name`, when one is
/// close enough to be a typo of it; else nothing.
pub(crate) fn did_you_mean(name: &str, known: &[&str]) -> String {
    closest(name, known).map_or_else(String::new, |k| format!("; did you mean {k}?"))
}

/// The name among `known` closest to `name` (ignoring case), if it is within a third
/// of its length in edits (at least one edit).
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    // Longer names than any known one plus the allowed edits cannot be typos of one.
    if name.chars().count() > 64 {
        return None;
    }
    let name = name.to_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&name, &k.to_lowercase()), *k))
        .filter(|(d, k)| *d <= (k.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance: the fewest single-character insertions, deletions and
/// substitutions that turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(unix)]
fn warn_if_secrets_readable(path: &Path, table: &toml::Table) {
    use std::os::unix::fs::PermissionsExt;
    let holds_secret = posbridge::vendors().iter().any(|v| {
        let in_section = |t: &toml::Table| {
            t.get(v.name())
                .and_then(|s| s.as_table())
                .is_some_and(|s| v.secret_fields().iter().any(|f| s.contains_key(*f)))
        };
        in_section(table)
            || table
                .get("tenants")
                .and_then(|t| t.as_table())
                .is_some_and(|ts| ts.values().filter_map(|t| t.as_table()).any(in_section))
    });
    // A PostgreSQL URL with a password is a secret too.
    let outbox_password = table
        .get("outbox")
        .and_then(|o| o.get("database"))
        .and_then(|d| d.as_str())
        .and_then(|d| url::Url::parse(d).ok())
        .is_some_and(|u| u.password().is_some());
    if !holds_secret && !outbox_password {
        return;
    }
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!("config file holds secrets and is readable by others");
        eprintln!(
            "warning: {} holds secrets and is readable by other users; run `chmod 600 {}`",
            shorten(&path.display().to_string()),
            shorten(&path.display().to_string())
        );
    }
}

#[cfg(not(unix))]
fn warn_if_secrets_readable(_path: &Path, _table: &toml::Table) {}

/// A commented template with a section per compiled-in vendor.
pub fn template() -> String {
    let mut s = String::from(
        "# posbridge configuration.\n\
         #\n\
         # One section per vendor. Secrets are better kept out of this file: each secret\n\
         # field is read from POSBRIDGE_<VENDOR>_<FIELD> when set (e.g. POSBRIDGE_CLOUDMA_TOKEN).\n\
         # If you do keep a secret here, make the file private: chmod 600 <this file>.\n\
         #\n\
         # For many merchants, repeat the sections under [tenants.<name>.<vendor>] and pass\n\
         # --tenant <name>; their secrets come from POSBRIDGE_<NAME>_<VENDOR>_<FIELD>.\n\
         #\n\
         # Uncomment the sections of the vendors you use.\n",
    );
    for v in posbridge::vendors() {
        s.push('\n');
        s.push_str(&vendor_template(v));
    }
    s.push('\n');
    s.push_str(OUTBOX_TEMPLATE);
    s
}

/// The `[outbox]` part of the template, commented out.
const OUTBOX_TEMPLATE: &str = "\
# The outbox (`posbridge outbox ...`): sales queued here are delivered by `posbridge outbox run`.
# Where it lives: --db, else POSBRIDGE_OUTBOX_DATABASE, else this, else sqlite://outbox.db
# next to this file. A relative sqlite path is relative to this file. PostgreSQL lets
# worker processes on several machines share one queue; keep its password in
# POSBRIDGE_OUTBOX_DATABASE rather than here.
# [outbox]
# database = \"sqlite://outbox.db\"          # or \"postgres://posbridge@db.example/posbridge\"
# lease_secs = 60                          # a killed worker's claims come back after this
# max_attempts = 25                        # then a delivery that keeps failing goes to `dead`
# backoff_base_ms = 1000                   # first retry delay, doubled per attempt
# backoff_max_ms = 300000                  # longest retry delay
# poll_interval_ms = 250                   # how often an idle worker looks for work
#
# What one worker process sends a target at most (`vendor`, or `tenant/vendor`):
# [outbox.targets.codemax]
# requests_per_second = 5
# max_in_flight = 2
";

/// A vendor's section of the template, from its descriptor, commented out.
fn vendor_template(vendor: &posbridge::VendorDescriptor) -> String {
    let body = vendor.config_template();
    if body.trim().is_empty() {
        return format!("# [{0}]: see docs/vendors/{0}.md\n", vendor.name());
    }
    // Every section starts commented out: uncomment the vendors you use.
    body.lines()
        .map(|l| {
            if l.is_empty() || l.starts_with('#') {
                format!("{l}\n")
            } else {
                format!("# {l}\n")
            }
        })
        .collect()
}

/// Writes the template to `path`, refusing to overwrite unless `force`.
pub fn init(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists (use --force to overwrite)",
            shorten(&path.display().to_string())
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", shorten(&dir.display().to_string())))?;
    }
    std::fs::write(path, template()).with_context(|| format!("writing {}", shorten(&path.display().to_string())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uncommenting a template section gives a config that works once its secrets are
    /// set, so the template cannot rot.
    #[test]
    fn every_template_section_is_a_valid_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("easpro-products.json"),
            r#"{"product": {"TEA-100": "uuid-1"}}"#,
        )
        .unwrap();
        let mut table = toml::Table::new();
        for v in posbridge::vendors() {
            let body = v.config_template();
            assert!(!body.trim().is_empty(), "{} has no template section", v.name());
            let mut section: toml::Table = body.parse().unwrap();
            let inner = section.get_mut(v.name()).and_then(|s| s.as_table_mut()).unwrap();
            for f in v.secret_fields() {
                inner.insert((*f).to_owned(), toml::Value::String("secret".into()));
            }
            table.extend(section);
        }
        let path = dir.path().join("config.toml");
        std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
        let settings = Settings::load(Some(&path), None).unwrap();
        for v in posbridge::vendors() {
            assert!(settings.is_configured(v));
            let config = settings.vendor_config(v).map_err(|e| e.render()).unwrap();
            assert!(posbridge::connect(config).is_ok(), "{}", v.name());
        }
    }

    /// The template's `[outbox]` lines, uncommented, are a valid `[outbox]` section.
    #[test]
    fn the_outbox_template_is_a_valid_section() {
        let body: String = OUTBOX_TEMPLATE
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(body.contains("[outbox]") && body.contains("lease_secs"), "{body}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, &body).unwrap();
        let section = Settings::load(Some(&path), None)
            .unwrap()
            .outbox_section()
            .map_err(|e| e.render())
            .unwrap();
        assert_eq!(section.lease_secs, Some(60));
        assert_eq!(section.targets["codemax"].max_in_flight, Some(2));
        assert!(template().contains("# [outbox]"));
    }

    /// A config file at a temporary path, loaded.
    fn load(text: &str) -> Result<Settings, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        Settings::load(Some(&path), None).map_err(|e| e.render())
    }

    #[test]
    fn unknown_sections_are_named_with_the_closest_known_one() {
        let e = load("[cloudma]\nbase_url = \"x\"\n[cloudmaa]\ntoken = \"t\"\n").unwrap_err();
        assert!(e.contains("unknown section [cloudmaa]; did you mean cloudma?"), "{e}");
        let e = load("[foobar]\nx = 1\n").unwrap_err();
        assert!(
            e.contains("unknown section [foobar]") && !e.contains("did you mean"),
            "{e}"
        );
        assert!(
            e.contains("outbox") && e.contains("tenants"),
            "the hint lists the known ones: {e}"
        );
        let e = load("[tenants.colombo.CloudMA]\nbase_url = \"x\"\n").unwrap_err();
        assert!(
            e.contains("unknown section [tenants.colombo.CloudMA]; did you mean cloudma?"),
            "{e}"
        );
        let e = load("[tenants.colombo.outbox]\ndatabase = \"x\"\n").unwrap_err();
        assert!(e.contains("unknown section [tenants.colombo.outbox]"), "{e}");
        let e = load("tenants = 3\n").unwrap_err();
        assert!(e.contains("tenants must be a table"), "{e}");
        let e = load("verbose = true\n").unwrap_err();
        assert!(e.contains("unknown key verbose"), "{e}");
        let e = load(&format!("[{}]\n", "x".repeat(100_000))).unwrap_err();
        assert!(e.len() < 2_000 && e.contains("(100000 bytes)"), "{e}");
    }

    #[test]
    fn known_sections_load() {
        let ok = "[cloudma]\nbase_url = \"x\"\n[outbox]\ndatabase = \"sqlite://o.db\"\n\
                  [outbox.targets.cloudma]\nmax_in_flight = 1\n\
                  [tenants.colombo.cloudma]\nbase_url = \"y\"\n[tenants.kandy.easpro]\nutc_offset = \"+08:00\"\n";
        let settings = load(ok).unwrap();
        assert!(settings.for_tenant(Some("colombo")).is_ok());
        let e = settings.for_tenant(Some("colomb")).unwrap_err().render();
        assert!(e.contains("did you mean colombo?"), "{e}");
        assert!(load("").is_ok());
    }

    #[test]
    fn a_toml_error_says_where_without_quoting_the_line() {
        let e = load(&format!("[cloudma]\ntoken = \"{}\n", "s".repeat(100_000))).unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert!(!e.contains("sssssssss"), "the line is quoted back: {e}");
    }

    #[test]
    fn typos_are_close_and_other_names_are_not() {
        let known = [
            "asalta",
            "cloudma",
            "codemax",
            "easpro",
            "salesmania",
            "outbox",
            "tenants",
        ];
        assert_eq!(closest("cloudmaa", &known), Some("cloudma"));
        assert_eq!(closest("tenant", &known), Some("tenants"));
        assert_eq!(closest("sales-mania", &known), Some("salesmania"));
        assert_eq!(closest("EASPRO", &known), Some("easpro"));
        assert_eq!(closest("foobar", &known), None);
        assert_eq!(closest("x", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn a_missing_secret_names_the_variable_to_set() {
        let table: toml::Table = "[cloudma]\nbase_url = \"http://127.0.0.1:1/\"\n".parse().unwrap();
        let settings = Settings {
            table: table.clone(),
            root: table,
            dir: None,
            has_file: true,
            tenant: Some("colombo-1".into()),
        };
        let v = posbridge::vendors().iter().find(|v| v.name() == "cloudma").unwrap();
        let e = settings.vendor_config(v).unwrap_err().render();
        assert!(e.contains("POSBRIDGE_COLOMBO_1_CLOUDMA_TOKEN"), "{e}");
    }
}
