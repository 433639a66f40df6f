//! Headless Chromium driven over WebDriver (W3C, JSON over HTTP) through Debian's
//! ChromeDriver, for tests of the chat page: a real browser runs the page's script, its
//! `fetch` streaming and its DOM updates.
//!
//! ChromeDriver and the Chromium it starts run in their own process group, killed by its id
//! when the handle drops. Chromium is started with its background networking off: the only
//! traffic is to the loopback page under test.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::{
    Result,
    process::{free_port, kill_group, spawn_group},
};

/// WebDriver's key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A ChromeDriver process with one browser session.
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    _profile: TempDir,
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium session with a fresh profile.
    pub async fn start() -> Result<Self> {
        let chromium = which("chromium").ok_or(
            "chromium is not installed (scripts/setup.sh installs Debian's chromium and chromium-driver)",
        )?;
        let chromedriver = which("chromedriver").ok_or("chromedriver is not installed")?;
        let profile = tempfile::Builder::new().prefix("chromium-").tempdir()?;
        let port = free_port()?;
        let mut command = Command::new(chromedriver);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let driver = spawn_group(&mut command)?;
        let mut browser = Self {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            http: crate::http_client(),
            _profile: profile,
        };
        let started = Instant::now();
        loop {
            if let Ok(r) = browser
                .http
                .get(format!("{}/status", browser.base))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("chromedriver did not become ready in 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile_dir = browser._profile.path().display().to_string();
        let session = browser
            .call(
                reqwest::Method::POST,
                "/session",
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [
                            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--disable-dev-shm-usage", "--window-size=1100,820",
                            format!("--user-data-dir={profile_dir}"),
                        ],
                    },
                }}}),
            )
            .await?;
        let id = session["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {session}"))?;
        browser.base = format!("{}/session/{id}", browser.base);
        Ok(browser)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let answer: Value = request
            .timeout(Duration::from_secs(60))
            .send()
            .await?
            .json()
            .await?;
        if let Some(error) = answer["value"].get("error") {
            return Err(
                format!("WebDriver {path}: {error}: {}", answer["value"]["message"]).into(),
            );
        }
        Ok(answer["value"].clone())
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await
            .map(drop)
    }

    async fn element(&self, css: &str) -> Result<String> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await?;
        found[ELEMENT]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no element {css}").into())
    }

    /// Types `text` into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let id = self.element(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await
        .map(drop)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<()> {
        let id = self.element(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await
        .map(drop)
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; its return value.
    pub async fn run(&self, script: &str, args: Value) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Polls `script` until it returns `true`, failing after `timeout` with `what`.
    pub async fn wait_until(&self, what: &str, script: &str, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            if self.run(script, json!([])).await? == Value::Bool(true) {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(format!("timed out after {timeout:?} waiting for {what}").into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a PNG screenshot of the page to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await?;
        let bytes = aws_smithy_types::base64::decode(png.as_str().ok_or("no screenshot data")?)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, bytes)?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The group: ChromeDriver and the Chromium processes it started.
        kill_group(&mut self.driver);
    }
}

fn which(program: &str) -> Option<String> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}
