//! The operator's `run` as a child process: started on a free port, its JSON
//! logs captured, stopped with SIGTERM (or killed when dropped).

use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{Moto, http_get, poll};

pub struct Controller {
    child: Child,
    pub port: u16,
    log: tempfile::NamedTempFile,
}

impl Controller {
    /// `run -f files --interval interval --listen <free port> --instance instance`,
    /// plus `extra` arguments and environment; returns once /healthz answers.
    pub fn start(
        moto: &Moto,
        files: &str,
        instance: &str,
        interval: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Controller {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        // No files: the source is in `extra` (`--source s3://…`).
        let mut args = if files.is_empty() {
            vec!["run"]
        } else {
            vec!["run", "-f", files]
        };
        args.extend([
            "--interval",
            interval,
            "--listen",
            &listen,
            "--instance",
            instance,
        ]);
        args.extend_from_slice(extra);
        let log = tempfile::NamedTempFile::new().expect("log file");
        let child = moto
            .operator_command(&args)
            .envs(env.iter().copied())
            .stdout(log.reopen().expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("run starts");
        poll(Duration::from_secs(30), "/healthz answers", || {
            http_get(port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
        });
        Controller { child, port, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET /status` as JSON (null when it does not answer).
    pub fn status(&self) -> serde_json::Value {
        let r = http_get(self.port, "/status").unwrap_or_default();
        serde_json::from_str(r.split_once("\r\n\r\n").map_or("", |(_, b)| b)).unwrap_or_default()
    }

    /// Waits until `n` more loops have finished.
    pub fn loops(&self, n: usize) {
        for _ in 0..n {
            let before = self.status()["lastLoop"]["finishedAt"].clone();
            poll(Duration::from_secs(60), "a loop finishes", || {
                self.status()["lastLoop"]["finishedAt"] != before
            });
        }
    }

    /// The JSON log lines written so far.
    pub fn logs(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(self.log.path()).unwrap_or_default();
        text.lines()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"))
            })
            .collect()
    }

    /// SIGKILL: no stop, no release, no last word.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then the exit status, which must come within 10 s.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                Instant::now() < end,
                "run did not exit within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
