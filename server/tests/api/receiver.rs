//! A real HTTP receiver on loopback that records what it gets and answers as told.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
    /// The status it was answered with.
    pub status: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub fn msg_id(&self) -> &str {
        self.header("webhook-id")
    }
}

/// What to answer: a queue of scripted replies, then the default.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub delay: Duration,
    pub body: String,
    pub location: Option<String>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            delay: Duration::ZERO,
            body: "ok".into(),
            location: None,
        }
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
}

#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub port: u16,
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { inner, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answer the next requests with these replies, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    /// Answer with this once the script is spent (200 when never set).
    pub fn set_default(&self, reply: Reply) {
        self.inner.lock().unwrap().default = Some(reply);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn count(&self) -> usize {
        self.inner.lock().unwrap().received.len()
    }
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> Response {
    let at = Instant::now();
    let reply = {
        let mut g = inner.lock().unwrap();
        g.script
            .pop_front()
            .or_else(|| g.default.clone())
            .unwrap_or(Reply::status(200))
    };
    // Recorded on arrival, so a request whose sender dies mid-flight still counts as arrived.
    inner.lock().unwrap().received.push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at,
        status: reply.status,
    });
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut resp = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    if let Some(ra) = reply.retry_after {
        resp.headers_mut().insert("retry-after", ra.parse().unwrap());
    }
    if let Some(loc) = reply.location {
        resp.headers_mut().insert("location", loc.parse().unwrap());
    }
    resp
}

/// A loopback TCP gate in front of a receiver: `close` refuses new connections and cuts the
/// open ones (as a receiver that went down), `open` lets them through again on the same port.
pub struct Gate {
    pub port: u16,
    target: u16,
    conns: Arc<Mutex<tokio::task::JoinSet<()>>>,
    accept: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Gate {
    pub async fn start(target: &Receiver) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let g = Gate {
            port: listener.local_addr().unwrap().port(),
            target: target.port,
            conns: Arc::new(Mutex::new(tokio::task::JoinSet::new())),
            accept: Mutex::new(None),
        };
        g.serve(listener);
        g
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let (conns, target) = (self.conns.clone(), self.target);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.lock().unwrap().spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
            }
        });
        *self.accept.lock().unwrap() = Some(task);
    }

    /// Down: connections are refused, and those open are cut.
    pub fn close(&self) {
        if let Some(t) = self.accept.lock().unwrap().take() {
            t.abort();
        }
        self.conns.lock().unwrap().abort_all();
    }

    /// Up again, on the same port.
    pub async fn open(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .unwrap();
        self.serve(listener);
    }
}
