//! Child processes that are always stopped: by PID when their handle drops (a failing test
//! unwinds through the drop), and by the kernel if the test process dies first.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::Result;

/// A running server process and its log file.
#[derive(Debug)]
pub struct ServerProcess {
    name: String,
    child: Child,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, command: &mut Command, log: &Path) -> Result<Self> {
        let out = File::create(log)?;
        let err = out.try_clone()?;
        command.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = spawn_tied(command).map_err(|e| format!("could not start {name}: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        })
    }

    /// Starts `command`, reads its stdout until a line `LISTENING <port>` and returns the
    /// port; later output goes nowhere (stderr still goes to `log`).
    pub fn spawn_announcing(name: &str, command: &mut Command, log: &Path) -> Result<(Self, u16)> {
        let err = File::create(log)?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err);
        let mut child = spawn_tied(command).map_err(|e| format!("could not start {name}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut process = Self {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        match line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
        {
            Some(port) => Ok((process, port)),
            None => {
                let _ = process.child.kill();
                Err(format!("{name} did not announce its port; log:\n{}", process.logs()).into())
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote so far.
    pub fn logs(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Fails if the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => {
                Err(format!("{} exited ({status}); log:\n{}", self.name, self.logs()).into())
            }
        }
    }

    /// Starts a server that cannot announce the port it bound (Prometheus, Alertmanager):
    /// `command(port)` on a port that was free a moment ago, until `base_url(port)` +
    /// `/-/ready` answers. Another process may take the port between the pick and the bind,
    /// so that is tried three times. Returns the process and its base URL.
    pub async fn spawn_ready(
        name: &str,
        log: &Path,
        command: impl Fn(u16) -> Command,
        base_url: impl Fn(u16) -> String,
    ) -> Result<(Self, String)> {
        let mut last_error = None;
        for _ in 0..3 {
            let port = free_port()?;
            let mut process = Self::spawn(name, &mut command(port), log)?;
            let url = base_url(port);
            match process
                .wait_ready(&format!("{url}/-/ready"), Duration::from_secs(30))
                .await
            {
                Ok(()) => return Ok((process, url)),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| format!("{name} did not start").into()))
    }

    /// Polls `url` until it answers 2xx, the process exits, or `timeout` passes.
    pub async fn wait_ready(&mut self, url: &str, timeout: Duration) -> Result<()> {
        let client = crate::http_client();
        let start = Instant::now();
        loop {
            self.check_running()?;
            if let Ok(response) = client.get(url).timeout(Duration::from_secs(2)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(format!(
                    "{} was not ready at {url} within {timeout:?}; log:\n{}",
                    self.name,
                    self.logs()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Stops the process now (SIGKILL by PID) and waits for it.
    pub fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Spawns with `PR_SET_PDEATHSIG`: the child gets SIGKILL when the thread that spawned it
/// exits, so nothing outlives a test process that was killed before its drops ran.
fn spawn_tied(command: &mut Command) -> std::io::Result<Child> {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot announce
/// the port they bound themselves).
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Spawns `command` as the leader of a new process group (with `PR_SET_PDEATHSIG` as well),
/// for programs that start programs of their own (cargo-lambda, ChromeDriver): the group
/// can then be stopped as a whole with [`kill_group`].
pub fn spawn_group(command: &mut Command) -> std::io::Result<Child> {
    // SAFETY: setsid and prctl are async-signal-safe and touch no parent memory.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Kills the process group `leader` started by [`spawn_group`] (by its id) and reaps it.
pub fn kill_group(leader: &mut Child) {
    // SAFETY: kill with a negative pid signals the process group the child leads.
    unsafe {
        libc::kill(-(leader.id() as i32), libc::SIGKILL);
    }
    let _ = leader.wait();
}
