//! Accepting connections. `axum::serve` waits for ever on a client that sends half a
//! request, and accepts without limit; here every connection must send its request head
//! within [`HEADER_READ_TIMEOUT`] (also while idle between keep-alive requests), and at most
//! [`MAX_CONNECTIONS`] are open at once — the rest wait in the kernel's accept backlog.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

// Ten seconds to send a request head: a client on the slowest mobile link sends a few
// hundred bytes in well under a second; a slowloris holding connections open is cut off.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
// Open connections at most: far more than two cores serve at once (each holds a task and
// a few kilobytes), few enough that idle or hostile clients cannot exhaust file descriptors
// (a default limit of 1,024 per process is common; the database and plugins need some).
pub(crate) const MAX_CONNECTIONS: usize = 768;
// After a failed accept (out of file descriptors, say), wait a little before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until the task is aborted. Handlers see the peer's address as
/// `ConnectInfo<SocketAddr>`.
pub(crate) async fn serve(listener: TcpListener, app: Router) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(request.map(Body::new))
                });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            if let Err(error) = http.serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(%peer, %error, "connection ended");
            }
            drop(slot);
        });
    }
}
