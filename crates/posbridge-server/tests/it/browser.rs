//! The console in a real browser: Debian's Chromium driven through ChromeDriver
//! (`apt-get install chromium chromium-driver`; CI installs them). It logs in, checks
//! the overview's counts after a faulty demo day, finds a sale by reference, resolves
//! an uncertain delivery and retries a dead one, each through its confirm page.
//!
//! On failure it saves a screenshot of the step that failed under
//! `target/browser-screenshots/<step>.png`; on success one of each console page there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use posbridge_outbox::DeliveryState;

use crate::support::{self, TestServer};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Where the screenshots go: `<workspace>/target/browser-screenshots`.
fn screenshot_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    workspace
        .canonicalize()
        .unwrap_or(workspace)
        .join("target/browser-screenshots")
}

/// ChromeDriver, in a process group of its own, killed with the browsers it started
/// when dropped (also when the test fails).
struct Driver {
    child: std::process::Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        assert!(
            Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: the browser tests need Chromium and ChromeDriver \
             (apt-get install -y chromium chromium-driver)"
        );
        // A free port: bind, read, release.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        use std::os::unix::process::CommandExt as _;
        let child = std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        Driver { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until ChromeDriver answers.
    async fn ready(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(r) = http.get(format!("{}/status", self.url())).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer within 15 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: ChromeDriver and any Chromium it left behind.
        let pid = self.child.id();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(driver: &Driver, profile: &Path) -> Client {
    let mut options = serde_json::json!({
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--window-size=1280,1000",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    if Path::new(CHROMIUM).exists() {
        options["binary"] = CHROMIUM.into();
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".to_owned(), options);
    ClientBuilder::rustls()
        .expect("a webdriver client")
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .expect("a Chromium session through chromedriver")
}

async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    let path = dir.join(format!("{name}.png"));
    match c.screenshot().await {
        Ok(png) => std::fs::write(&path, png).expect("the screenshot is written"),
        Err(e) => eprintln!("no screenshot of {name}: {e}"),
    }
    path
}

async fn text(c: &Client, css: &str) -> anyhow::Result<String> {
    let el = c
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no element {css}"))?;
    Ok(el.text().await?.trim().to_owned())
}

/// Waits for an element to appear (a page loaded).
async fn wait_for(c: &Client, css: &str) -> anyhow::Result<()> {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("{css} did not appear"))?;
    Ok(())
}

/// The walk through the console, `step` naming where it is for the failure screenshot.
async fn walk(c: &Client, ts: &TestServer, step: &mut &'static str, shots: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    *step = "login";
    c.goto(&ts.at("/console/login")).await?;
    wait_for(c, "#key").await?;
    shots.push(screenshot(c, "login").await);
    c.find(Locator::Id("key")).await?.send_keys(&ts.operator_key).await?;
    c.find(Locator::Id("login")).await?.click().await?;
    wait_for(c, "#nav-overview").await?;
    let url = c.current_url().await?;
    ensure!(url.path() == "/console", "after login the browser is at {url}");

    *step = "overview";
    let status = ts.server.outbox().status().await?;
    ensure!(!status.is_empty(), "the demo day queued nothing");
    for target in support::targets() {
        for state in DeliveryState::ALL {
            let expected: u64 = status
                .iter()
                .filter(|r| r.target == target && r.state == state)
                .map(|r| r.count)
                .sum();
            let css = format!("#count-{}-{}-{} .n", target.tenant, target.vendor, state.as_str());
            let shown = text(c, &css).await?;
            ensure!(
                shown == expected.to_string(),
                "{css} shows {shown}, the outbox holds {expected}"
            );
        }
    }
    let dead = text(c, "#count-colombo-fake-dead .n").await?;
    ensure!(
        dead == "3",
        "colombo/fake has DEAD-3, DEAD-10 and DEAD-17 dead, the page says {dead}"
    );
    ensure!(
        c.find(Locator::Css("#chart-colombo-fake rect")).await.is_ok(),
        "no chart"
    );
    shots.push(screenshot(c, "overview").await);

    *step = "search";
    c.find(Locator::Id("nav-deliveries")).await?.click().await?;
    wait_for(c, "#search-reference").await?;
    shots.push(screenshot(c, "deliveries").await);
    c.find(Locator::Id("search-reference")).await?.send_keys("S-8").await?;
    c.find(Locator::Id("search")).await?.click().await?;
    wait_for(c, "#deliveries").await?;
    let rows = c.find_all(Locator::Css("#deliveries tbody tr")).await?;
    ensure!(
        rows.len() == 2,
        "S-8 went to colombo's two vendors; the list shows {} rows",
        rows.len()
    );
    for row in rows {
        let t = row.text().await?;
        ensure!(t.contains("S-8") && !t.contains("S-80"), "a row of the search: {t}");
    }

    *step = "resolve";
    c.goto(&ts.at("/console/deliveries?tenant=colombo&vendor=fake&reference=UNC-5"))
        .await?;
    wait_for(c, "#deliveries").await?;
    c.find(Locator::Css("#deliveries a.delivery-link"))
        .await?
        .click()
        .await?;
    wait_for(c, "#delivery-state").await?;
    ensure!(
        text(c, "#delivery-state").await? == "uncertain",
        "UNC-5 is not uncertain"
    );
    shots.push(screenshot(c, "delivery").await);
    c.find(Locator::Id("action-delivered")).await?.click().await?;
    wait_for(c, "#confirm").await?;
    shots.push(screenshot(c, "confirm").await);
    c.find(Locator::Id("confirm")).await?.click().await?;
    wait_for(c, "#done").await?;
    let state = text(c, "#delivery-state").await?;
    ensure!(state == "delivered", "after marking it delivered the page says {state}");

    *step = "retry";
    c.goto(&ts.at("/console/deliveries?reference=DEAD-3&vendor=fake"))
        .await?;
    wait_for(c, "#deliveries").await?;
    c.find(Locator::Css("#deliveries a.delivery-link"))
        .await?
        .click()
        .await?;
    wait_for(c, "#delivery-state").await?;
    ensure!(text(c, "#delivery-state").await? == "dead", "DEAD-3 is not dead");
    ensure!(
        c.find(Locator::Id("action-delivered")).await.is_err(),
        "a dead delivery offers no resolve"
    );
    c.find(Locator::Id("action-retry")).await?.click().await?;
    wait_for(c, "#confirm").await?;
    c.find(Locator::Id("confirm")).await?.click().await?;
    wait_for(c, "#done").await?;
    let state = text(c, "#delivery-state").await?;
    if !matches!(state.as_str(), "pending" | "retrying" | "delivering") {
        bail!("after a retry the page says {state}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_in_chromium() {
    let started = Instant::now();
    let ts = support::start().await;
    support::demo_day(&ts, 23).await;
    let driver = Driver::start();
    driver.ready().await;
    let profile = tempfile::tempdir().expect("a profile directory");
    let client = connect(&driver, profile.path()).await;

    let mut step = "start";
    let mut shots = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(60), walk(&client, &ts, &mut step, &mut shots)).await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(_) => Some("the walk took over 60 s".to_owned()),
    };
    if let Some(failure) = failure {
        let shot = screenshot(&client, step).await;
        let _ = client.close().await;
        drop(driver);
        panic!(
            "browser step `{step}` failed: {failure} (screenshot: {})",
            shot.display()
        );
    }
    let _ = client.close().await;
    drop(driver);
    for s in &shots {
        eprintln!("screenshot: {}", s.display());
    }
    eprintln!("the browser walk took {:?}", started.elapsed());
}
