//! A throwaway PostgreSQL cluster for the test gate.
//!
//! `cargo xtask test` looks for the PostgreSQL server binaries (`initdb`, `pg_ctl`,
//! `postgres`) in `pg_config --bindir`, then in the highest version directory under
//! `/usr/lib/postgresql/*/bin`, then on `PATH`. When it finds them it creates a
//! cluster in a fresh temporary directory (trust authentication for the role
//! `posbridge`, no fsync), starts it on a free loopback TCP port and hands the tests
//! `POSBRIDGE_TEST_POSTGRES_URL=postgres://posbridge@127.0.0.1:PORT/postgres`; the
//! tests create their own databases from it. [`Cluster`] stops the server and removes
//! the directory when dropped, whether the tests passed, failed or the gate errored.
//!
//! `initdb` and `postgres` refuse to run as root: when the effective uid is 0 every
//! PostgreSQL command runs as the `postgres` system user (`runuser`, else `su`), in a
//! directory chowned to that user.

use std::ffi::OsString;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

/// The environment variable that gives the tests the server's URL.
pub const URL_VAR: &str = "POSBRIDGE_TEST_POSTGRES_URL";

/// The environment variable that makes the PostgreSQL tests fail, not skip, when
/// [`URL_VAR`] is absent; the gate sets it whenever it started a cluster.
pub const REQUIRE_VAR: &str = "POSBRIDGE_REQUIRE_POSTGRES";

/// The role `initdb` creates as the superuser; the URL connects as it.
const ROLE: &str = "posbridge";

/// The system user PostgreSQL runs as when we are root.
const SYSTEM_USER: &str = "postgres";

/// Where Debian and Ubuntu install one directory per server version.
const DEBIAN_LIB_ROOT: &str = "/usr/lib/postgresql";

/// Where a set of server binaries was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The directory `pg_config --bindir` printed.
    PgConfig,
    /// The highest version under `/usr/lib/postgresql/*/bin`.
    Versioned,
    /// A directory on `PATH` (or the directory its `initdb` symlink points into).
    Path,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::PgConfig => "pg_config --bindir",
            Origin::Versioned => "/usr/lib/postgresql/*/bin",
            Origin::Path => "PATH",
        })
    }
}

/// A directory holding `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// The directory.
    pub bindir: PathBuf,
    /// How it was found.
    pub origin: Origin,
}

impl Binaries {
    fn tool(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }

    /// The server's version line, e.g. `15.18 (Debian 15.18-0+deb12u1)`, or "" when
    /// `postgres --version` does not answer.
    pub fn version(&self) -> String {
        Command::new(self.tool("postgres"))
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| {
                let line = String::from_utf8_lossy(&o.stdout).trim().to_owned();
                line.strip_prefix("postgres (PostgreSQL) ").unwrap_or(&line).to_owned()
            })
            .unwrap_or_default()
    }
}

/// Finds the server binaries on this machine: `pg_config --bindir`, then the highest
/// version under `/usr/lib/postgresql/*/bin`, then `PATH`.
pub fn find() -> Option<Binaries> {
    let pg_config_bindir = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| !p.as_os_str().is_empty());
    find_in(pg_config_bindir, Path::new(DEBIAN_LIB_ROOT), std::env::var_os("PATH"))
}

/// [`find`] over given places, so that the search order can be tested. A directory
/// counts only when it holds all three of `initdb`, `pg_ctl` and `postgres` as
/// executables: Debian's `libpq-dev` ships a `pg_config` whose `--bindir` names a
/// directory without the server.
fn find_in(pg_config_bindir: Option<PathBuf>, lib_root: &Path, path_var: Option<OsString>) -> Option<Binaries> {
    if let Some(dir) = pg_config_bindir.filter(|d| is_server_dir(d)) {
        return Some(Binaries {
            bindir: dir,
            origin: Origin::PgConfig,
        });
    }
    if let Some(dir) = versioned_dirs(lib_root).into_iter().find(|d| is_server_dir(d)) {
        return Some(Binaries {
            bindir: dir,
            origin: Origin::Versioned,
        });
    }
    for dir in std::env::split_paths(&path_var.unwrap_or_default()) {
        let initdb = dir.join("initdb");
        if !initdb.exists() {
            continue;
        }
        // Prefer the directory a symlinked initdb lives in: pg_ctl looks for
        // `postgres` next to itself.
        let real = std::fs::canonicalize(&initdb)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        if let Some(real) = real.filter(|d| is_server_dir(d)) {
            return Some(Binaries {
                bindir: real,
                origin: Origin::Path,
            });
        }
        if is_server_dir(&dir) {
            return Some(Binaries {
                bindir: dir,
                origin: Origin::Path,
            });
        }
    }
    None
}

/// `<lib_root>/<version>/bin` for every version directory, highest version first
/// (`15` before `9.6`).
fn versioned_dirs(lib_root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(lib_root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let version: Option<Vec<u32>> = name.split('.').map(|p| p.parse().ok()).collect();
                    version.map(|v| (v, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    dirs.sort_by(|a, b| b.0.cmp(&a.0));
    dirs.into_iter().map(|(_, d)| d).collect()
}

fn is_server_dir(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|name| std::fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// True when the environment says the PostgreSQL tests must run: `CI` is `true` or
/// `1`, or `POSBRIDGE_REQUIRE_POSTGRES` is `1`.
pub fn required_by_env() -> bool {
    let ci = std::env::var("CI").unwrap_or_default();
    ci.eq_ignore_ascii_case("true") || ci == "1" || std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1")
}

/// The URL the tests connect to.
pub fn url(port: u16) -> String {
    format!("postgres://{ROLE}@127.0.0.1:{port}/postgres")
}

/// How PostgreSQL commands are run: directly, or as the `postgres` user when we are
/// root.
#[derive(Debug, Clone)]
enum Runner {
    Direct,
    Runuser(PathBuf),
    Su,
}

impl Runner {
    fn for_this_process() -> Runner {
        if effective_uid() != Some(0) {
            return Runner::Direct;
        }
        match find_program("runuser", &["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) {
            Some(runuser) => Runner::Runuser(runuser),
            None => Runner::Su,
        }
    }

    fn as_postgres_user(&self) -> bool {
        !matches!(self, Runner::Direct)
    }

    fn command(&self, program: &Path, args: &[String]) -> Command {
        match self {
            Runner::Direct => {
                let mut c = Command::new(program);
                c.args(args);
                c
            }
            Runner::Runuser(runuser) => {
                let mut c = Command::new(runuser);
                c.args(["-u", SYSTEM_USER, "--"]).arg(program).args(args);
                c
            }
            Runner::Su => {
                let mut line = format!("exec {}", shell_quote(&program.to_string_lossy()));
                for a in args {
                    line.push(' ');
                    line.push_str(&shell_quote(a));
                }
                let mut c = Command::new("su");
                c.args([SYSTEM_USER, "-s", "/bin/sh", "-c", &line]);
                c
            }
        }
    }
}

/// The effective uid, from `id -u` (no `unsafe` libc call); `None` when `id` fails.
fn effective_uid() -> Option<u32> {
    id(&["-u"])
}

fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn find_program(name: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(fallbacks.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Quotes a word for `/bin/sh`.
fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

fn path_str(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("{} is not valid UTF-8", path.display()))
}

/// A running throwaway cluster. Dropping it stops the server (`pg_ctl stop -m fast`)
/// and removes its directory.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    binaries: Binaries,
    runner: Runner,
    port: u16,
}

impl Cluster {
    /// Creates a cluster in a new temporary directory and starts it on a free
    /// loopback port; returns once it accepts TCP connections. First stops and
    /// removes clusters left behind by gates that were killed (Ctrl-C skips `Drop`).
    pub fn start(binaries: &Binaries) -> Result<Cluster> {
        let runner = Runner::for_this_process();
        sweep_leftovers(binaries, &runner);
        Cluster::start_with(binaries, runner)
    }

    fn start_with(binaries: &Binaries, runner: Runner) -> Result<Cluster> {
        let dir = make_temp_dir()?;
        // From here on, dropping `cluster` removes the directory (and stops the
        // server if one got started).
        let mut cluster = Cluster {
            dir,
            binaries: binaries.clone(),
            runner,
            port: 0,
        };
        cluster.prepare_dir()?;
        cluster.initdb()?;
        let mut last_error = None;
        // A free port can be taken between our probe and the server's bind: try a few.
        for _ in 0..3 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => {
                    cluster.wait_for_tcp(Duration::from_secs(10))?;
                    return Ok(cluster);
                }
                Err(e) => {
                    cluster.stop_server();
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("PostgreSQL did not start")))
    }

    /// The TCP port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL the tests connect to (`postgres://posbridge@127.0.0.1:PORT/postgres`).
    pub fn url(&self) -> String {
        url(self.port)
    }

    /// One line: where PostgreSQL came from, its version, the port.
    pub fn describe(&self) -> String {
        let version = self.binaries.version();
        format!(
            "PostgreSQL {}from {} ({}), port {}{}",
            if version.is_empty() {
                String::new()
            } else {
                format!("{version} ")
            },
            self.binaries.bindir.display(),
            self.binaries.origin,
            self.port(),
            if self.runner.as_postgres_user() {
                ", run as the postgres user"
            } else {
                ""
            }
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Makes the directory usable by the user the server runs as.
    fn prepare_dir(&self) -> Result<()> {
        if !self.runner.as_postgres_user() {
            return Ok(());
        }
        let (Some(uid), Some(gid)) = (id(&["-u", SYSTEM_USER]), id(&["-g", SYSTEM_USER])) else {
            bail!(
                "running as root, and there is no `{SYSTEM_USER}` system user to run PostgreSQL as \
                 (initdb and postgres refuse root); install the postgresql package or run as another user"
            );
        };
        std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid))
            .with_context(|| format!("chown {} to {SYSTEM_USER}", self.dir.display()))?;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", self.dir.display()))?;
        Ok(())
    }

    fn run(&self, tool: &str, args: &[String]) -> Result<Output> {
        let program = self.binaries.tool(tool);
        self.runner
            .command(&program, args)
            .current_dir(&self.dir)
            .env("LC_ALL", "C")
            .output()
            .with_context(|| format!("running {}", program.display()))
    }

    fn initdb(&self) -> Result<()> {
        let args = vec![
            "-D".to_owned(),
            path_str(&self.data())?,
            "-U".to_owned(),
            ROLE.to_owned(),
            "--auth=trust".to_owned(),
            "-E".to_owned(),
            "UTF8".to_owned(),
            "--locale=C".to_owned(),
            "--no-sync".to_owned(),
        ];
        let out = self.run("initdb", &args)?;
        if !out.status.success() {
            bail!("initdb failed:\n{}", output_text(&out));
        }
        Ok(())
    }

    fn pg_ctl_start(&self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            self.port,
            shell_quote(&path_str(&self.dir)?)
        );
        let args = vec![
            "-D".to_owned(),
            path_str(&self.data())?,
            "-l".to_owned(),
            path_str(&self.dir.join("log"))?,
            "-w".to_owned(),
            "-o".to_owned(),
            options,
            "start".to_owned(),
        ];
        let out = self.run("pg_ctl", &args)?;
        if !out.status.success() {
            bail!(
                "pg_ctl start failed on port {}:\n{}\nserver log:\n{}",
                self.port,
                output_text(&out),
                self.log_tail(30)
            );
        }
        Ok(())
    }

    fn wait_for_tcp(&self, limit: Duration) -> Result<()> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let started = Instant::now();
        loop {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Ok(_) => return Ok(()),
                Err(e) if started.elapsed() > limit => {
                    bail!(
                        "PostgreSQL started but does not accept connections on {addr}: {e}\nserver log:\n{}",
                        self.log_tail(30)
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops the server if it runs: `-m fast`, then `-m immediate` if that fails.
    fn stop_server(&self) {
        if !self.data().join("postmaster.pid").exists() {
            return;
        }
        let Ok(data) = path_str(&self.data()) else {
            return;
        };
        for mode in ["fast", "immediate"] {
            let args = vec![
                "-D".to_owned(),
                data.clone(),
                "-m".to_owned(),
                mode.to_owned(),
                "-w".to_owned(),
                "stop".to_owned(),
            ];
            match self.run("pg_ctl", &args) {
                Ok(out) if out.status.success() => return,
                Ok(out) => eprintln!("warning: pg_ctl stop -m {mode} failed: {}", output_text(&out)),
                Err(e) => eprintln!("warning: pg_ctl stop -m {mode}: {e:#}"),
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_server();
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("warning: could not remove {}: {e}", self.dir.display());
        }
    }
}

/// Temporary directories are named `posbridge-pg-<pid of the gate>-<random>`.
const DIR_PREFIX: &str = "posbridge-pg-";

fn make_temp_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!("{DIR_PREFIX}{}-{nanos:x}{attempt}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    bail!("could not create a temporary directory under {}", base.display())
}

/// Stops and removes the clusters of gates that no longer run: a killed gate
/// (Ctrl-C) never runs [`Cluster`]'s `Drop`, and `pg_ctl` detaches the server from
/// the terminal, so it would run on. Only where `/proc` tells which processes live.
fn sweep_leftovers(binaries: &Binaries, runner: &Runner) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || is_alive(pid) {
            continue;
        }
        eprintln!(
            "note: removing a PostgreSQL cluster left behind by an interrupted gate: {}",
            entry.path().display()
        );
        // Dropping it stops the server and removes the directory.
        drop(Cluster {
            dir: entry.path(),
            binaries: binaries.clone(),
            runner: runner.clone(),
            port: 0,
        });
    }
}

/// Whether process `pid` runs: it has a `/proc` entry and is not a zombie.
fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| matches!(rest.trim_start().chars().next(), Some('Z' | 'X'))),
        Err(_) => false,
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .trim_end()
    .to_owned()
}

/// The lines of a box around `lines`, for a warning nobody should miss.
pub fn boxed(lines: &[&str]) -> String {
    let width = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let rule = format!("+{}+", "-".repeat(width + 2));
    let mut text = format!("{rule}\n");
    for line in lines {
        let pad = width - line.chars().count();
        text.push_str(&format!("| {line}{} |\n", " ".repeat(pad)));
    }
    text.push_str(&rule);
    text
}

/// The banner the gate prints last when the PostgreSQL tests did not run.
pub fn not_run_banner() -> String {
    boxed(&[
        "WARNING: the PostgreSQL tests did NOT run.",
        "",
        "No PostgreSQL server binaries (initdb, pg_ctl, postgres) were found in",
        "`pg_config --bindir`, /usr/lib/postgresql/*/bin or PATH, so the tests run",
        "without POSBRIDGE_TEST_POSTGRES_URL and skip everything that needs a server.",
        "",
        "To run them, install the server and run the gate again:",
        "    sudo apt-get install postgresql      (Debian, Ubuntu)",
        "    cargo xtask test",
        "With CI=true (or POSBRIDGE_REQUIRE_POSTGRES=1) the gate fails instead.",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new() -> Scratch {
            Scratch(make_temp_dir().unwrap())
        }

        /// Creates `rel` with the three server binaries (or just `names`) as executables.
        fn bin(&self, rel: &str, names: &[&str]) -> PathBuf {
            let dir = self.0.join(rel);
            std::fs::create_dir_all(&dir).unwrap();
            for name in names {
                let file = dir.join(name);
                std::fs::write(&file, "#!/bin/sh\n").unwrap();
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            dir
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const ALL: &[&str] = &["initdb", "pg_ctl", "postgres"];

    /// Sends PostgreSQL's SSLRequest to `port` and returns the one-byte answer (`N` or
    /// `S` from a PostgreSQL server).
    fn ssl_request(port: u16) -> Result<u8> {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        // Length 8, then the SSLRequest code 1234.5679.
        stream.write_all(&[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])?;
        let mut answer = [0u8; 1];
        stream.read_exact(&mut answer)?;
        Ok(answer[0])
    }

    #[test]
    fn pg_config_bindir_comes_first() {
        let s = Scratch::new();
        let pg_config = s.bin("pgconfig/bin", ALL);
        s.bin("lib/15/bin", ALL);
        let on_path = s.bin("path", ALL);
        let found = find_in(Some(pg_config.clone()), &s.0.join("lib"), Some(on_path.into())).unwrap();
        assert_eq!(
            found,
            Binaries {
                bindir: pg_config,
                origin: Origin::PgConfig
            }
        );
    }

    #[test]
    fn a_pg_config_without_the_server_falls_through_to_the_highest_version() {
        let s = Scratch::new();
        // libpq-dev's pg_config names a bindir that lacks the server.
        let client_only = s.bin("pgconfig/bin", &["pg_config"]);
        s.bin("lib/9.6/bin", ALL);
        let v15 = s.bin("lib/15/bin", ALL);
        s.bin("lib/13/bin", ALL);
        s.bin("lib/16/bin", &["initdb"]); // incomplete: skipped
        std::fs::create_dir_all(s.0.join("lib/not-a-version/bin")).unwrap();
        let on_path = s.bin("path", ALL);
        let found = find_in(Some(client_only), &s.0.join("lib"), Some(on_path.into())).unwrap();
        assert_eq!(
            found,
            Binaries {
                bindir: v15,
                origin: Origin::Versioned
            }
        );
    }

    #[test]
    fn versions_sort_numerically() {
        let s = Scratch::new();
        for v in ["9.6", "15", "10", "13"] {
            s.bin(&format!("lib/{v}/bin"), ALL);
        }
        let names: Vec<String> = versioned_dirs(&s.0.join("lib"))
            .iter()
            .map(|d| d.parent().unwrap().file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["15", "13", "10", "9.6"]);
    }

    #[test]
    fn path_is_last_and_follows_an_initdb_symlink() {
        let s = Scratch::new();
        let real = s.bin("real/bin", ALL);
        let links = s.0.join("links");
        std::fs::create_dir_all(&links).unwrap();
        std::os::unix::fs::symlink(real.join("initdb"), links.join("initdb")).unwrap();
        let empty = s.0.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let path = std::env::join_paths([empty, links]).unwrap();
        let found = find_in(None, &s.0.join("no-such-lib"), Some(path)).unwrap();
        assert_eq!(found.origin, Origin::Path);
        assert_eq!(found.bindir, std::fs::canonicalize(real).unwrap());
    }

    #[test]
    fn nothing_found_without_executables() {
        let s = Scratch::new();
        let dir = s.bin("path", ALL);
        std::fs::set_permissions(dir.join("pg_ctl"), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(find_in(None, &s.0.join("lib"), Some(dir.into())), None);
        assert_eq!(find_in(None, &s.0.join("lib"), None), None);
    }

    #[test]
    fn url_names_the_role_the_port_and_the_postgres_database() {
        assert_eq!(url(54321), "postgres://posbridge@127.0.0.1:54321/postgres");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("/tmp/posbridge-pg-1"), "/tmp/posbridge-pg-1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn the_banner_is_a_box() {
        let banner = boxed(&["one", "three"]);
        assert_eq!(banner, "+-------+\n| one   |\n| three |\n+-------+");
        assert!(not_run_banner().contains("apt-get install postgresql"));
    }

    /// Starts a real cluster when the binaries are here; skips otherwise (fails when
    /// `POSBRIDGE_REQUIRE_POSTGRES=1`).
    #[test]
    fn a_cluster_starts_accepts_connections_and_is_removed() {
        let Some(binaries) = find() else {
            assert!(
                std::env::var(REQUIRE_VAR).map_or(true, |v| v != "1"),
                "{REQUIRE_VAR}=1 but no PostgreSQL server binaries were found"
            );
            eprintln!("skipped: no PostgreSQL server binaries (apt-get install postgresql)");
            return;
        };
        let cluster = Cluster::start(&binaries).unwrap();
        let port = cluster.port();
        let dir = cluster.dir.clone();
        assert!(cluster.url().ends_with(&format!(":{port}/postgres")));
        assert!(cluster.describe().contains(&format!("port {port}")));
        // A PostgreSQL server answers an SSLRequest with one byte: N (no TLS here).
        assert_eq!(ssl_request(port).unwrap(), b'N');
        drop(cluster);
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    }

    /// As root, the fallback to `su` (for machines without `runuser`) works too.
    #[test]
    fn as_root_a_cluster_starts_through_su_too() {
        let Some(binaries) = find() else {
            eprintln!("skipped: no PostgreSQL server binaries");
            return;
        };
        if effective_uid() != Some(0) || id(&["-u", SYSTEM_USER]).is_none() {
            eprintln!("skipped: not root, or no postgres user");
            return;
        }
        let cluster = Cluster::start_with(&binaries, Runner::Su).unwrap();
        assert_eq!(ssl_request(cluster.port()).unwrap(), b'N');
    }

    #[test]
    fn liveness_from_proc() {
        if Path::new("/proc/self").exists() {
            assert!(is_alive(std::process::id()));
            assert!(!is_alive(u32::MAX));
        }
    }

    #[test]
    fn a_leftover_cluster_of_a_dead_gate_is_removed() {
        let Some(binaries) = find() else {
            eprintln!("skipped: no PostgreSQL server binaries");
            return;
        };
        if !Path::new("/proc/self").exists() {
            return;
        }
        // A pid that is not running: above the kernel's pid_max.
        let dead = std::env::temp_dir().join(format!("{DIR_PREFIX}4294967295-test"));
        std::fs::create_dir_all(dead.join("data")).unwrap();
        sweep_leftovers(&binaries, &Runner::for_this_process());
        assert!(!dead.exists());
    }
}
