//! A small RESP2 client over `std::net::TcpStream`: enough of the Redis protocol for streams.
//!
//! RESP2 is five reply types, each introduced by one byte and ended by `\r\n`: `+simple`, `-error`,
//! `:integer`, `$len` bulk strings (`$-1` is nil) and `*len` arrays (`*-1` is nil). A command is an
//! array of bulk strings. Every socket operation has a timeout, so an unreachable or silent server is
//! an error after a bounded wait, never a hang.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR …`: the server refused the command (the connection is still usable).
    Error(String),
    /// `:42`
    Int(i64),
    /// `$len` … (None for `$-1`).
    Bulk(Option<Vec<u8>>),
    /// `*len` … (None for `*-1`).
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The reply as text (simple or bulk string), if it is one.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// The reply as raw bytes (bulk or simple string).
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Simple(s) => Some(s.as_bytes()),
            Reply::Bulk(Some(b)) => Some(b),
            _ => None,
        }
    }

    /// The items of an array reply; a nil array or a non-array is empty.
    pub fn items(&self) -> &[Reply] {
        match self {
            Reply::Array(Some(v)) => v,
            _ => &[],
        }
    }

    /// The integer of an `:n` reply.
    pub fn int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// A connection error: I/O, timeout, or a reply that does not parse. (A `-ERR` reply is not one: it
/// is returned as [`Reply::Error`].)
#[derive(Debug)]
pub struct RespError(pub String);

impl std::fmt::Display for RespError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RespError {}

fn io(context: &str, e: std::io::Error) -> RespError {
    RespError(format!("{context}: {e}"))
}

/// Largest bulk string or array this client accepts (a corrupt length must not allocate gigabytes).
const MAX_LEN: i64 = 64 << 20;

/// One connection to a Redis server.
pub struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    out: Vec<u8>,
}

impl Connection {
    /// Connects to `addr` (`host:port`) within `timeout`; reads and writes time out after `timeout` too.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Connection, RespError> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| io(&format!("cannot resolve {addr}"), e))?
            .collect();
        let mut last = RespError(format!("{addr}: no address"));
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => {
                    s.set_read_timeout(Some(timeout))
                        .map_err(|e| io("set_read_timeout", e))?;
                    s.set_write_timeout(Some(timeout))
                        .map_err(|e| io("set_write_timeout", e))?;
                    let _ = s.set_nodelay(true);
                    let writer = s.try_clone().map_err(|e| io("clone socket", e))?;
                    return Ok(Connection {
                        reader: BufReader::new(s),
                        writer,
                        out: Vec::with_capacity(256),
                    });
                }
                Err(e) => last = io(&format!("cannot connect to {a}"), e),
            }
        }
        Err(last)
    }

    /// Sends one command (an array of bulk strings) and reads its reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Reply, RespError> {
        self.out.clear();
        self.out
            .extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            let a = a.as_ref();
            self.out
                .extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            self.out.extend_from_slice(a);
            self.out.extend_from_slice(b"\r\n");
        }
        self.writer
            .write_all(&self.out)
            .map_err(|e| io("write to redis", e))?;
        self.read_reply()
    }

    fn read_line(&mut self) -> Result<String, RespError> {
        let mut line = Vec::new();
        let n = self
            .reader
            .read_until(b'\n', &mut line)
            .map_err(|e| io("read from redis", e))?;
        if n == 0 {
            return Err(RespError("redis closed the connection".into()));
        }
        if line.len() < 2 || line[line.len() - 2] != b'\r' {
            return Err(RespError("malformed RESP line (no CRLF)".into()));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|_| RespError("RESP header is not UTF-8".into()))
    }

    fn read_reply(&mut self) -> Result<Reply, RespError> {
        let line = self.read_line()?;
        let (kind, rest) = line
            .split_at_checked(1)
            .ok_or_else(|| RespError("empty RESP line".into()))?;
        let number = || -> Result<i64, RespError> {
            rest.parse::<i64>()
                .map_err(|_| RespError(format!("bad RESP length/integer {rest:?}")))
        };
        match kind {
            "+" => Ok(Reply::Simple(rest.to_string())),
            "-" => Ok(Reply::Error(rest.to_string())),
            ":" => Ok(Reply::Int(number()?)),
            "$" => {
                let n = number()?;
                if n < 0 {
                    return Ok(Reply::Bulk(None));
                }
                if n > MAX_LEN {
                    return Err(RespError(format!("bulk string of {n} bytes refused")));
                }
                let mut buf = vec![0u8; n as usize + 2];
                self.reader
                    .read_exact(&mut buf)
                    .map_err(|e| io("read bulk string", e))?;
                if &buf[n as usize..] != b"\r\n" {
                    return Err(RespError("bulk string not ended by CRLF".into()));
                }
                buf.truncate(n as usize);
                Ok(Reply::Bulk(Some(buf)))
            }
            "*" => {
                let n = number()?;
                if n < 0 {
                    return Ok(Reply::Array(None));
                }
                if n > MAX_LEN {
                    return Err(RespError(format!("array of {n} items refused")));
                }
                let mut items = Vec::with_capacity(n.min(1024) as usize);
                for _ in 0..n {
                    items.push(self.read_reply()?);
                }
                Ok(Reply::Array(Some(items)))
            }
            other => Err(RespError(format!("unknown RESP type byte {other:?}"))),
        }
    }
}
