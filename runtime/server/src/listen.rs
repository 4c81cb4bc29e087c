//! Accepting connections. `axum::serve` waits for ever on a client that sends half a
//! request, and accepts without limit; here every connection must send its request head
//! within [`HEADER_READ_TIMEOUT`] (also while idle between keep-alive requests), its body
//! at a pace no slower than [`BODY_MIN_BYTES_PER_SECOND`] after a grace period, and at most
//! [`MAX_CONNECTIONS`] are open at once — the rest wait in the kernel's accept backlog.
//!
//! There is deliberately no deadline on a whole request once it has arrived: a handler stopped
//! midway could drop a step between granting access and recording it. The runner bounds its
//! own work instead (plugin deadlines, database timeouts).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

// Ten seconds to send a request head: a client on the slowest mobile link sends a few
// hundred bytes in well under a second; a slowloris holding connections open is cut off.
pub(crate) const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
// A request body may take this long whatever its size, and then as long again as its size
// takes at the least pace below. Ten seconds, as for the head, covers any JSON body;
// at 64 KiB/s the largest plugin upload (64 MiB) is allowed some seventeen minutes, far
// slower than any real link, while a client trickling bytes to hold a connection is cut off.
pub(crate) const BODY_GRACE: Duration = Duration::from_secs(10);
pub(crate) const BODY_MIN_BYTES_PER_SECOND: u64 = 64 << 10;
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
                    app.clone()
                        .oneshot(request.map(|body| Body::new(PacedBody::new(body))))
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

/// A request body that must keep arriving: it fails once more time has passed than
/// [`BODY_GRACE`] plus what the bytes received so far take at [`BODY_MIN_BYTES_PER_SECOND`].
/// A handler reading it then answers 400 (the body could not be read) and the connection ends.
struct PacedBody {
    inner: Incoming,
    started: Instant,
    received: u64,
    deadline: Pin<Box<Sleep>>,
}

impl PacedBody {
    fn new(inner: Incoming) -> PacedBody {
        let started = Instant::now();
        PacedBody {
            inner,
            started,
            received: 0,
            deadline: Box::pin(tokio::time::sleep_until(started + BODY_GRACE)),
        }
    }

    fn extend_deadline(&mut self) {
        let earned =
            Duration::from_secs_f64(self.received as f64 / BODY_MIN_BYTES_PER_SECOND as f64);
        self.deadline
            .as_mut()
            .reset(self.started + BODY_GRACE + earned);
    }
}

/// Why a request body was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "the request body arrived too slowly (at least {} KiB/s after the first {} s); send it in one go",
    BODY_MIN_BYTES_PER_SECOND >> 10,
    BODY_GRACE.as_secs()
)]
struct BodyTooSlow;

impl hyper::body::Body for PacedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(context) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received += data.len() as u64;
                    self.extend_deadline();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.deadline.as_mut().poll(context) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyTooSlow.into()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
