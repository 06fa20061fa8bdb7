//! A blocking HTTP/1.1 client for the API, on `std::net::TcpStream` alone: what `tkctl` and the
//! tests use. One connection per request (`Connection: close`); bodies by `Content-Length`,
//! chunked, or to the end of the stream. A watch keeps its connection and reads JSON lines from a
//! chunked body, with a deadline per read.
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::Kind;
use crate::Object;
use crate::store::Expect;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL is not `http://HOST:PORT`.
    #[error("invalid server URL {0:?}: expected http://HOST:PORT")]
    Url(String),
    /// No server answered at the address.
    #[error("cannot reach the API server at {addr}: {source}")]
    Connect {
        /// The address tried.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// The connection failed mid-request.
    #[error("talking to the API server: {0}")]
    Io(#[from] io::Error),
    /// The server answered with an error status; `message` is its `error` field.
    #[error("{message} (HTTP {status})")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// The whole JSON body (the revision a conflict found, a relist's compaction point).
        body: Value,
    },
    /// The answer is not what the API sends.
    #[error("unexpected answer from the API server: {0}")]
    Protocol(String),
}

impl ClientError {
    /// The HTTP status, if the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One object as the API returns it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Item {
    /// Its name.
    pub name: String,
    /// Its key's revision: what a compare-and-swap compares.
    pub revision: u64,
    /// The object (JSON of its kind).
    pub object: Value,
    /// Its status record (pods and nodes), if one was written.
    #[serde(default)]
    pub status: Option<Value>,
}

/// A listing and the revision it was read at: watch from `revision + 1` to miss nothing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListResponse {
    /// The store's revision when read.
    pub revision: u64,
    /// The objects, in name order.
    pub items: Vec<Item>,
}

/// One line of a watch stream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "UPPERCASE")]
pub enum WatchLine {
    /// The store's revision when the watch began.
    Bookmark {
        /// The revision.
        revision: u64,
    },
    /// An object was created or replaced.
    Put {
        /// Its name.
        name: String,
        /// The revision of the write.
        revision: u64,
        /// The object.
        object: Value,
    },
    /// An object was deleted.
    Delete {
        /// Its name.
        name: String,
        /// The revision of the deletion.
        revision: u64,
    },
    /// Compaction overtook the watch: list again, watch from the listing's revision + 1.
    Relist {
        /// The server's error body.
        error: Value,
    },
    /// The store failed; the stream ends.
    Error {
        /// What failed.
        error: Value,
    },
}

/// A client of one API server.
#[derive(Debug, Clone)]
pub struct Client {
    addr: String,
    timeout: Duration,
}

fn write_request(
    stream: &mut TcpStream,
    host: &str,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> io::Result<()> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(body) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some(body) = body {
        stream.write_all(body)?;
    }
    stream.flush()
}

/// A response's body framing.
enum Framing {
    Length(u64),
    Chunked,
    ToEnd,
}

/// Reads the status line and headers: the status and the body's framing.
fn read_head(reader: &mut impl BufRead) -> Result<(u16, Framing), ClientError> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| ClientError::Protocol(format!("status line {:?}", line.trim_end())))?;
    let mut framing = Framing::ToEnd;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(ClientError::Protocol("headers cut short".into()));
        }
        let header = line.trim_end();
        if header.is_empty() {
            return Ok((status, framing));
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") && value.eq_ignore_ascii_case("chunked") {
            framing = Framing::Chunked;
        } else if name.eq_ignore_ascii_case("content-length")
            && !matches!(framing, Framing::Chunked)
        {
            let n = value
                .parse()
                .map_err(|_| ClientError::Protocol(format!("content-length {value:?}")))?;
            framing = Framing::Length(n);
        }
    }
}

/// A chunked body as a byte stream. Every piece of state survives a read that timed out, so a
/// watch can wait with a deadline and carry on.
struct Chunked<R> {
    inner: R,
    /// Bytes left in the current chunk.
    left: u64,
    /// A partly read chunk-size line (or the CRLF after a chunk's data).
    line: Vec<u8>,
    /// The CRLF after the current chunk's data is still to be read.
    after_data: bool,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.left == 0 && !self.done {
            self.inner.read_until(b'\n', &mut self.line)?;
            if !self.line.ends_with(b"\n") {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "chunked body cut short",
                ));
            }
            let text = String::from_utf8_lossy(&self.line).trim().to_string();
            self.line.clear();
            if self.after_data {
                self.after_data = false;
                continue;
            }
            let size = text.split(';').next().unwrap_or("");
            let size = u64::from_str_radix(size, 16).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, format!("chunk size {text:?}"))
            })?;
            if size == 0 {
                self.done = true;
            } else {
                self.left = size;
            }
        }
        if self.done {
            return Ok(0);
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "chunked body cut short",
            ));
        }
        self.left -= n as u64;
        if self.left == 0 {
            self.after_data = true;
        }
        Ok(n)
    }
}

fn body_reader(reader: BufReader<TcpStream>, framing: Framing) -> BufReader<Box<dyn Read + Send>> {
    let inner: Box<dyn Read + Send> = match framing {
        Framing::Length(n) => Box::new(reader.take(n)),
        Framing::Chunked => Box::new(Chunked {
            inner: reader,
            left: 0,
            line: Vec::new(),
            after_data: false,
            done: false,
        }),
        Framing::ToEnd => Box::new(reader),
    };
    BufReader::new(inner)
}

fn error_from(status: u16, body: &[u8]) -> ClientError {
    let body: Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let message = body
        .get("error")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| body.to_string());
    ClientError::Http {
        status,
        message,
        body,
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Protocol(e.to_string()))
}

impl Client {
    /// A client of the server at `url` (`http://HOST:PORT`, a trailing `/` allowed), with a
    /// 10-second deadline on each connect and read.
    pub fn new(url: &str) -> Result<Client, ClientError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| ClientError::Url(url.to_string()))?;
        let addr = rest.strip_suffix('/').unwrap_or(rest);
        let valid = addr.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok()
        });
        if !valid {
            return Err(ClientError::Url(url.to_string()));
        }
        Ok(Client {
            addr: addr.to_string(),
            timeout: Duration::from_secs(10),
        })
    }

    /// The same client with another deadline per connect and read.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    fn connect(&self) -> Result<TcpStream, ClientError> {
        let connect_error = |source| ClientError::Connect {
            addr: self.addr.clone(),
            source,
        };
        let addrs: Vec<SocketAddr> = self
            .addr
            .to_socket_addrs()
            .map_err(connect_error)?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(self.timeout))?;
                    stream.set_write_timeout(Some(self.timeout))?;
                    return Ok(stream);
                }
                Err(e) => last = e,
            }
        }
        Err(connect_error(last))
    }

    /// Sends one request; the status and the whole body, whatever the status.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut stream = self.connect()?;
        write_request(&mut stream, &self.addr, method, path, body)?;
        let mut reader = BufReader::new(stream);
        let (status, framing) = read_head(&mut reader)?;
        let mut bytes = Vec::new();
        body_reader(reader, framing).read_to_end(&mut bytes)?;
        Ok((status, bytes))
    }

    /// Sends one request; the body of a 2xx answer, the server's error otherwise.
    fn call(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Vec<u8>, ClientError> {
        let (status, bytes) = self.raw(method, path, body)?;
        if (200..300).contains(&status) {
            Ok(bytes)
        } else {
            Err(error_from(status, &bytes))
        }
    }

    /// Every object of `kind` (`pods`, `nodes`, `replicasets`, `deployments`).
    pub fn list(&self, kind: &str) -> Result<ListResponse, ClientError> {
        parse(&self.call("GET", &format!("/api/v1/{kind}"), None)?)
    }

    /// One object; `None` if there is none.
    pub fn get(&self, kind: &str, name: &str) -> Result<Option<Item>, ClientError> {
        match self.call("GET", &format!("/api/v1/{kind}/{name}"), None) {
            Ok(bytes) => parse(&bytes).map(Some),
            Err(ClientError::Http { status: 404, .. }) if Kind::parse(kind).is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes `object` if `expect` holds; the new revision. A conflict is
    /// [`ClientError::Http`] with status 409.
    pub fn put(&self, object: &Object, expect: Expect) -> Result<u64, ClientError> {
        let json = match object {
            Object::Pod(o) => serde_json::to_vec(o),
            Object::Node(o) => serde_json::to_vec(o),
            Object::ReplicaSet(o) => serde_json::to_vec(o),
            Object::Deployment(o) => serde_json::to_vec(o),
        }
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let query = match expect {
            Expect::Any => String::new(),
            Expect::Absent => "?create=true".into(),
            Expect::Revision(r) => format!("?revision={r}"),
        };
        let path = format!(
            "/api/v1/{}/{}{query}",
            Kind::of(object).plural(),
            object.name()
        );
        let answer: Value = parse(&self.call("PUT", &path, Some(&json))?)?;
        answer["revision"]
            .as_u64()
            .ok_or_else(|| ClientError::Protocol(format!("no revision in {answer}")))
    }

    /// Deletes an object if `expect` holds (`Expect::Absent` is treated as `Any`); the revision
    /// of the deletion, `None` if there was no such object.
    pub fn delete(
        &self,
        kind: &str,
        name: &str,
        expect: Expect,
    ) -> Result<Option<u64>, ClientError> {
        let query = match expect {
            Expect::Revision(r) => format!("?revision={r}"),
            _ => String::new(),
        };
        match self.call("DELETE", &format!("/api/v1/{kind}/{name}{query}"), None) {
            Ok(bytes) => {
                let answer: Value = parse(&bytes)?;
                Ok(answer["revision"].as_u64())
            }
            Err(ClientError::Http { status: 404, .. }) if Kind::parse(kind).is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A pod with its status, the scheduling decision and "why pending" (JSON).
    pub fn describe_pod(&self, name: &str) -> Result<Value, ClientError> {
        parse(&self.call("GET", &format!("/api/v1/pods/{name}/describe"), None)?)
    }

    /// A pod's log, as its agent wrote it.
    pub fn logs(&self, pod: &str) -> Result<Vec<u8>, ClientError> {
        self.call("GET", &format!("/api/v1/pods/{pod}/logs"), None)
    }

    /// Where a deployment's rollout stands (JSON: desired, updated, updatedReady, ready, total,
    /// old, complete).
    pub fn rollout_status(&self, deployment: &str) -> Result<Value, ClientError> {
        parse(&self.call(
            "GET",
            &format!("/api/v1/deployments/{deployment}/rollout"),
            None,
        )?)
    }

    /// Watches `kind` from revision `from`. A compacted `from` is [`ClientError::Http`] with
    /// status 410: list again.
    pub fn watch(&self, kind: &str, from: u64) -> Result<WatchStream, ClientError> {
        let mut stream = self.connect()?;
        let path = format!("/api/v1/watch/{kind}?from={from}");
        write_request(&mut stream, &self.addr, "GET", &path, None)?;
        let socket = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        let (status, framing) = read_head(&mut reader)?;
        let mut body = body_reader(reader, framing);
        if !(200..300).contains(&status) {
            let mut bytes = Vec::new();
            body.read_to_end(&mut bytes)?;
            return Err(error_from(status, &bytes));
        }
        Ok(WatchStream {
            socket,
            body,
            pending: Vec::new(),
        })
    }
}

/// An open watch: JSON lines read with a deadline each.
pub struct WatchStream {
    socket: TcpStream,
    body: BufReader<Box<dyn Read + Send>>,
    /// A line read in part before a deadline passed.
    pending: Vec<u8>,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

impl WatchStream {
    /// The next line, waiting up to `timeout`; `Ok(None)` when none came in time. The end of the
    /// stream is an error ([`io::ErrorKind::UnexpectedEof`]).
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<WatchLine>, ClientError> {
        self.socket
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.body.read_until(b'\n', &mut self.pending) {
            Ok(_) if self.pending.ends_with(b"\n") => {
                let line = parse(&self.pending);
                self.pending.clear();
                line.map(Some)
            }
            Ok(_) => Err(ClientError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the watch stream ended",
            ))),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(ClientError::Io(e)),
        }
    }
}
