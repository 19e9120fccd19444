//! A headless Chromium driven over WebDriver, for the console's end-to-end tests: Debian's
//! `chromedriver` runs as a child of the test (killed with everything it started when the
//! [`Browser`] is dropped, also when a test panics), and every wait polls for a condition until a
//! deadline instead of sleeping for a fixed time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Where Debian's `chromium-driver` package installs the driver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where Debian's `chromium` package installs the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long any single wait may take: generous for a loaded 2-core CI machine, and a failing wait
/// says what it waited for.
const DEADLINE: Duration = Duration::from_secs(15);

/// How often a wait checks its condition again.
const POLL: Duration = Duration::from_millis(50);

/// The browser window: wide enough for the console's two-column layouts.
const WINDOW: (u32, u32) = (1400, 1000);

/// The tallest screenshot taken (the window grows to the page's height up to this).
const MAX_SHOT_HEIGHT: u32 = 6000;

/// A headless Chromium session against a console at `base`.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    /// The console's base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    driver: Driver,
}

/// The `chromedriver` child, in its own process group so that dropping it also ends the Chromium
/// processes it started.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the browser processes it started (their ids are not
        // known here, the group's is the driver's own).
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the browser tests must run: CI sets `BULWARK_REQUIRE_SHARED_DATA=1`, and there a missing
/// browser is a failure rather than a skip.
fn browser_required() -> bool {
    std::env::var("BULWARK_REQUIRE_SHARED_DATA").is_ok_and(|v| v == "1")
}

/// A free loopback port for the driver (bound and released: chromedriver takes a port number).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium for the console at `base`; `None` (after saying
    /// why) when the browser is not installed, unless CI requires it.
    pub async fn start(base: &str) -> Option<Browser> {
        Browser::start_with(base, true).await
    }

    /// Like [`Browser::start`], with the pages' scripts turned off when `javascript` is false (the
    /// console must work without them).
    pub async fn start_with(base: &str, javascript: bool) -> Option<Browser> {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            if !Path::new(path).exists() {
                let reason = format!(
                    "browser tests skipped: {path} is missing (apt-get install -y chromium chromium-driver)"
                );
                assert!(
                    !browser_required(),
                    "{reason}; CI requires the {package} package"
                );
                eprintln!("{reason}");
                return None;
            }
        }
        let port = free_port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = Driver(command.spawn().expect("start chromedriver"));
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < DEADLINE,
                "chromedriver did not listen on port {port} within {DEADLINE:?}"
            );
            tokio::time::sleep(POLL).await;
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                ],
                // 2 blocks: the content setting a user's "Don't allow sites to use JavaScript" sets.
                "prefs": {
                    "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 },
                },
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a WebDriver session with headless Chromium");
        Some(Browser {
            client,
            base: base.to_string(),
            driver,
        })
    }

    /// Ends the WebDriver session (closing the browser); the driver ends when `self` is dropped.
    pub async fn close(self) {
        let Browser { client, driver, .. } = self;
        let _ = client.close().await;
        drop(driver);
    }

    /// Opens a console path and waits until its document has loaded.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
        self.until_loaded(path).await;
    }

    /// The path and query of the current page (`/recommendations?status=Exception`).
    pub async fn location(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// Polls `check` until it yields a value, or fails after the deadline saying `what` it waited
    /// for.
    pub async fn until<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let started = Instant::now();
        loop {
            if let Some(value) = check().await {
                return value;
            }
            if started.elapsed() > DEADLINE {
                let at = self.location().await;
                panic!("waited {DEADLINE:?} for {what} (on {at})");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for an element matching `css` and returns it.
    pub async fn find(&self, css: &str) -> Element {
        self.until(&format!("an element {css}"), || async {
            self.client.find(Locator::Css(css)).await.ok()
        })
        .await
    }

    /// Whether an element matching `css` is on the page now.
    pub async fn has(&self, css: &str) -> bool {
        self.client
            .find_all(Locator::Css(css))
            .await
            .is_ok_and(|found| !found.is_empty())
    }

    /// Waits for an element matching `css` and returns its visible text (found again when the page
    /// replaced it in between).
    pub async fn text(&self, css: &str) -> String {
        self.with_element(css, "the text of", |e| async move { e.text().await })
            .await
    }

    /// Waits for an element matching `css` and clicks it (found again when the page replaced it in
    /// between).
    pub async fn click(&self, css: &str) {
        self.with_element(css, "to click", |e| async move { e.click().await })
            .await
    }

    /// Finds an element matching `css` and applies `act` to it, until both succeed (an element
    /// the page replaced in between is found again).
    async fn with_element<T, F, Fut>(&self, css: &str, what: &str, act: F) -> T
    where
        F: Fn(Element) -> Fut,
        Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    {
        self.until(&format!("{what} {css}"), || async {
            act(self.client.find(Locator::Css(css)).await.ok()?)
                .await
                .ok()
        })
        .await
    }

    /// Waits until an element matching `css` shows `needle` in its text; returns the whole text.
    pub async fn text_containing(&self, css: &str, needle: &str) -> String {
        self.until(&format!("{css} to contain {needle:?}"), || async {
            let element = self.client.find(Locator::Css(css)).await.ok()?;
            let text = element.text().await.ok()?;
            text.contains(needle).then_some(text)
        })
        .await
    }

    /// Waits for a link whose visible text is exactly `text` (inside `scope`, a CSS selector).
    pub async fn link(&self, scope: &str, text: &str) -> Element {
        self.labelled(scope, "a", text).await
    }

    /// Waits for a button whose visible text is exactly `text` inside `scope`.
    pub async fn button(&self, scope: &str, text: &str) -> Element {
        self.labelled(scope, "button", text).await
    }

    /// Waits for a `tag` element whose visible text is exactly `text` inside `scope`.
    async fn labelled(&self, scope: &str, tag: &str, text: &str) -> Element {
        self.until(&format!("a {tag} {text:?} in {scope}"), || async {
            let root = self.client.find(Locator::Css(scope)).await.ok()?;
            for element in root.find_all(Locator::Css(tag)).await.ok()? {
                if element.text().await.ok()?.trim() == text {
                    return Some(element);
                }
            }
            None
        })
        .await
    }

    /// Marks the current document, so that [`Browser::until_new_page`] can tell when the browser
    /// has replaced it with another (after a click that submits a form or follows a link).
    pub async fn mark_page(&self) {
        self.client
            .execute("window.__bulwarkOldPage = true;", vec![])
            .await
            .expect("mark the page");
    }

    /// Waits until the document marked by [`Browser::mark_page`] is gone and the new one has
    /// loaded.
    pub async fn until_new_page(&self, after: &str) {
        self.until(&format!("a new page after {after}"), || async {
            let fresh = self
                .client
                .execute(
                    "return window.__bulwarkOldPage === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok()?;
            (fresh == Value::Bool(true)).then_some(())
        })
        .await
    }

    /// Waits until the current document has finished loading.
    async fn until_loaded(&self, what: &str) {
        self.until(&format!("{what} to load"), || async {
            let state = self
                .client
                .execute("return document.readyState;", vec![])
                .await
                .ok()?;
            (state == json!("complete")).then_some(())
        })
        .await
    }

    /// Clicks `element` and waits for the page it leads to (a link or a form's submit button).
    pub async fn click_to_new_page(&self, element: &Element, what: &str) {
        self.mark_page().await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {what}: {e}"));
        self.until_new_page(what).await;
    }

    /// Presses the button labelled `label` in the form matching `form` and waits for the page the
    /// form leads to (post/redirect/get); returns the notice at its top.
    pub async fn submit(&self, form: &str, label: &str) -> String {
        let button = self.button(form, label).await;
        self.click_to_new_page(&button, &format!("{label} in {form}"))
            .await;
        self.text(".notice[role=status]").await
    }

    /// Replaces the value of the field matching `css` with `value`, as a user typing would.
    pub async fn type_into(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear field");
        field.send_keys(value).await.expect("type into field");
    }

    /// Sends `key` to the element matching `css` (which then has the focus).
    pub async fn press(&self, css: &str, key: fantoccini::key::Key) {
        self.with_element(css, "to press a key on", |e| async move {
            e.send_keys(&key.to_string()).await
        })
        .await
    }

    /// The id of the element that has the focus (empty when it has none).
    pub async fn focused(&self) -> String {
        let id = self
            .script("return document.activeElement ? document.activeElement.id : '';")
            .await;
        id.as_str().unwrap_or_default().to_string()
    }

    /// Selects the option with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("select {value:?} in {css}: {e}"));
    }

    /// Runs a script in the page and returns what it returns.
    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
    }

    /// Saves a PNG of the whole page (the window grown to the page's height) as
    /// `target/console-screenshots/NAME.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        // The window's height less its viewport's is the browser's own frame, which the page does
        // not get.
        let sizes = self
            .script(
                "return [Math.ceil(document.documentElement.scrollHeight), window.outerHeight - window.innerHeight];",
            )
            .await;
        let page = sizes[0].as_u64().unwrap_or(u64::from(WINDOW.1));
        let frame = sizes[1].as_u64().unwrap_or(0);
        let height = u32::try_from(page + frame)
            .unwrap_or(MAX_SHOT_HEIGHT)
            .clamp(WINDOW.1, MAX_SHOT_HEIGHT);
        self.client
            .set_window_size(WINDOW.0, height)
            .await
            .expect("resize the window");
        let png = self.client.screenshot().await.expect("screenshot");
        self.client
            .set_window_size(WINDOW.0, WINDOW.1)
            .await
            .expect("restore the window");
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

/// `target/console-screenshots/` of the build the test binary belongs to (the binary lives in
/// `target/debug/deps/`; CI keeps `target`).
pub fn screenshot_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
        .join("console-screenshots")
}
