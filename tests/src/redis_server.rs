//! A throwaway `redis-server` for tests: on a free loopback port, with its own temp dir, no
//! persistence, and shut down on drop. It can be killed and restarted on the same port, so a test can
//! take Redis away from a client and give it back.
//!
//! Without `redis-server` on `PATH`, [`RedisServer::start_or_skip`] says so loudly on stderr and
//! returns `None` (the test passes as skipped) — unless `REQUIRE_REDIS=1` (CI), which makes it a
//! failure. Only std is used (PING is written by hand), so any crate's tests can use it whatever Redis
//! client they test.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tempdir::TempDir;
use crate::wait::poll_until;

/// A `redis-server` child process on `127.0.0.1:port`.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    bin: PathBuf,
    child: Option<Child>,
    dir: TempDir,
}

/// The `redis-server` binary on `PATH`, if any.
pub fn find_redis_server() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

impl RedisServer {
    /// Starts a server on a free port, or returns `None` after a loud skip message when
    /// `redis-server` is not installed. Panics (fails the test) when it is not installed and
    /// `REQUIRE_REDIS=1`, or when it is installed but does not come up within 10 s.
    pub fn start_or_skip(what: &str) -> Option<RedisServer> {
        match find_redis_server() {
            Some(bin) => Some(RedisServer::start(&bin)),
            None => {
                let required = std::env::var("REQUIRE_REDIS").is_ok_and(|v| v == "1");
                // Straight to the stderr handle, not `eprintln!`: the test harness captures the
                // macros' output of a passing test, and a skip must be seen.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                     !! SKIPPED: {what}: redis-server is not on PATH, so this test did not run.\n\
                     !! Install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew\n\
                     !! install redis). Set REQUIRE_REDIS=1 to make this a failure.\n\
                     !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                );
                assert!(
                    !required,
                    "REQUIRE_REDIS=1 but redis-server is not installed ({what})"
                );
                None
            }
        }
    }

    /// Starts `bin` on a free loopback port and waits (≤ 10 s) until it answers PING.
    pub fn start(bin: &Path) -> RedisServer {
        let dir = TempDir::new("redis").expect("temp dir for redis");
        // A port the kernel just handed out and we released: free unless someone races us for it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer {
            port,
            bin: bin.to_path_buf(),
            child: None,
            dir,
        };
        server.restart();
        server
    }

    /// The port it listens on (the same across [`RedisServer::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:port/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server at once (SIGKILL, no shutdown), as a crash would; its data is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server process (SIGSTOP) without closing its sockets: connections stay open and
    /// nothing answers, as with a hung server or a partition. [`RedisServer::resume`] undoes it.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, sig: libc::c_int) {
        let child = self.child.as_ref().expect("the server is running");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) takes plain integers and touches no memory of ours; `pid` is our own child,
        // not yet waited for (it is reaped only in `kill`), so the pid cannot have been reused.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {sig}): {}",
            std::io::Error::last_os_error()
        );
    }

    /// (Re)starts the server on the same port, empty, and waits (≤ 10 s) until it answers PING.
    /// Kills the running one first, if any.
    pub fn restart(&mut self) {
        self.kill();
        let log_path = self.dir.path().join("redis.log");
        let log = std::fs::File::create(&log_path).expect("redis log file");
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--protected-mode", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.ping() {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("redis-server exited at start ({st}):\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the server answers PING with PONG within 200 ms.
    pub fn ping(&self) -> bool {
        let t = Duration::from_millis(200);
        let Ok(addr) = self.addr().parse() else {
            return false;
        };
        let Ok(mut s) = TcpStream::connect_timeout(&addr, t) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(t));
        let _ = s.set_write_timeout(Some(t));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let addr = self.addr();
        if let Some(child) = self.child.as_mut() {
            if let Ok(addr) = addr.parse()
                && let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
            {
                let _ = s.write_all(b"SHUTDOWN NOSAVE\r\n");
            }
            if poll_until(Duration::from_secs(3), || {
                matches!(child.try_wait(), Ok(Some(_)))
            }) {
                self.child = None;
                return;
            }
        }
        self.kill();
    }
}
