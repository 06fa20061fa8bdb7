//! The API server: the store behind JSON over HTTP, as Kubernetes' apiserver puts etcd behind REST.
//! In Go it is `net/http` handlers over an etcd client; here axum handlers over a [`Store`], served
//! by a tokio runtime on a thread of its own so the rest of the control plane stays blocking code.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/v1/{kind}` | `{"revision", "items": [{"name", "revision", "object", "status"?}]}` |
//! | `GET /api/v1/{kind}/{name}` | one item, 404 if absent |
//! | `PUT /api/v1/{kind}/{name}[?revision=N \| ?create=true]` | `{"revision"}`; 409 when `N` (or absence) does not hold |
//! | `DELETE /api/v1/{kind}/{name}[?revision=N]` | `{"revision"}`; 404 if absent, 409 on a conflict |
//! | `GET /api/v1/watch/{kind}?from=R` | JSON lines, one per change from revision `R` on; 410 Gone when `R` is compacted |
//! | `GET /api/v1/pods/{name}/describe` | the pod, its status, the scheduling decision and "why pending" |
//! | `GET /api/v1/pods/{name}/logs` | the pod's log as its agent wrote it (text) |
//! | `GET /api/v1/deployments/{name}/rollout` | the rollout's counts and whether it is complete |
//!
//! `{kind}` is `pods`, `nodes`, `replicasets` or `deployments`. Every error is JSON,
//! `{"error": "...", ...}`, with a status that says which: 400 bad input, 404 absent, 409 conflict
//! (with the revision found), 410 relist, 500 the store failed.
//!
//! ```
//! use std::sync::Arc;
//! use tinykube::server::{ApiServer, Client, ServerConfig};
//! use tinykube::store::Expect;
//! use tinykube::{Cpu, Memory, MemStore, Node, Object};
//!
//! let server = ApiServer::start(Arc::new(MemStore::new()), "127.0.0.1:0".parse()?, ServerConfig::default())?;
//! let client = Client::new(&format!("http://{}", server.addr()))?;
//! let created = client.put(&Object::Node(Node::new("n1", Cpu(2000), Memory(1 << 30))), Expect::Absent)?;
//! let listing = client.list("nodes")?;
//! assert_eq!((listing.items.len(), listing.items[0].revision), (1, created));
//! server.stop();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
mod client;
mod error;
mod routes;
mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use client::{Client, ClientError, Item, ListResponse, WatchLine, WatchStream};
pub use error::ApiError;
pub use routes::router;

use crate::controller::{deployment_key, replicaset_key};
use crate::scheduler::{node_key, pod_key};
use crate::store::Store;

/// The kinds the API serves, by their path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `pods`.
    Pods,
    /// `nodes`.
    Nodes,
    /// `replicasets`.
    ReplicaSets,
    /// `deployments`.
    Deployments,
}

impl Kind {
    /// Every kind, in the order `tkctl` lists them.
    pub const ALL: [Kind; 4] = [
        Kind::Pods,
        Kind::Nodes,
        Kind::ReplicaSets,
        Kind::Deployments,
    ];

    /// The kind for a path segment (`pods`), or for what a user may type (`pod`, `po`, `deploy`, `rs`).
    pub fn parse(text: &str) -> Option<Kind> {
        Some(match text.to_ascii_lowercase().as_str() {
            "pods" | "pod" | "po" => Kind::Pods,
            "nodes" | "node" | "no" => Kind::Nodes,
            "replicasets" | "replicaset" | "rs" => Kind::ReplicaSets,
            "deployments" | "deployment" | "deploy" => Kind::Deployments,
            _ => return None,
        })
    }

    /// Its path segment.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pods => "pods",
            Kind::Nodes => "nodes",
            Kind::ReplicaSets => "replicasets",
            Kind::Deployments => "deployments",
        }
    }

    /// The kind for an object's `kind` field (`Pod`).
    pub fn of(object: &crate::Object) -> Kind {
        match object {
            crate::Object::Pod(_) => Kind::Pods,
            crate::Object::Node(_) => Kind::Nodes,
            crate::Object::ReplicaSet(_) => Kind::ReplicaSets,
            crate::Object::Deployment(_) => Kind::Deployments,
        }
    }

    /// The store key of the object `name` of this kind (`""`: the prefix of them all).
    pub fn key(self, name: &str) -> String {
        match self {
            Kind::Pods => pod_key(name),
            Kind::Nodes => node_key(name),
            Kind::ReplicaSets => replicaset_key(name),
            Kind::Deployments => deployment_key(name),
        }
    }

    /// A user-facing list of the kinds, for error messages.
    pub fn known() -> &'static str {
        "pods, nodes, replicasets, deployments"
    }
}

/// What the server needs besides the store.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Where node agents write pod logs: `<log_dir>/<pod>.log` or `<log_dir>/<node>/<pod>.log`.
    /// `None`: `logs` answers 404.
    pub log_dir: Option<PathBuf>,
}

/// An API server running on a thread of its own (a tokio runtime with two workers); stopped by
/// [`ApiServer::stop`] or on drop, after in-flight requests and open watches end.
#[derive(Debug)]
pub struct ApiServer {
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ApiServer {
    /// Binds `addr` (port 0: any free port; [`ApiServer::addr`] says which) and serves `store`.
    pub fn start<S: Store + 'static>(
        store: Arc<S>,
        addr: SocketAddr,
        config: ServerConfig,
    ) -> std::io::Result<ApiServer> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tinykube-api")
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(store, config);
        let thread = std::thread::Builder::new()
            .name("tinykube-api".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                        // Either a stop() or the ApiServer dropped (the sender with it).
                        let _ = stopped.await;
                    });
                    if let Err(e) = serve.await {
                        eprintln!("tinykube api server: {e}");
                    }
                });
                // Watch streams run on blocking threads that notice a closed connection within
                // their poll interval; do not wait for them longer than that.
                runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            })?;
        Ok(ApiServer {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish, and joins the server's thread.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
