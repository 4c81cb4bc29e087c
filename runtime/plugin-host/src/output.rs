//! Captures a plugin's stdout and stderr into a bounded buffer instead of the server's own.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::async_trait;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// What a plugin printed, cut at a limit. Writes past the limit succeed but are dropped and
/// counted, so a chatty plugin neither fails nor fills the server's memory.
#[derive(Debug, Clone)]
pub(crate) struct CapturedOutput {
    inner: Arc<Mutex<Buffer>>,
}

#[derive(Debug, Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped: usize,
    limit: usize,
}

impl CapturedOutput {
    pub(crate) fn new(limit: usize) -> CapturedOutput {
        CapturedOutput {
            inner: Arc::new(Mutex::new(Buffer {
                limit,
                ..Buffer::default()
            })),
        }
    }

    fn append(&self, bytes: &[u8]) {
        // A poisoned lock only means another writer panicked mid-append; the bytes are still
        // a valid prefix, so keep going.
        let mut buffer = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let room = buffer.limit.saturating_sub(buffer.kept.len());
        let keep = room.min(bytes.len());
        buffer.kept.extend_from_slice(&bytes[..keep]);
        buffer.dropped += bytes.len() - keep;
    }

    /// The captured text, with a note of how much was dropped.
    pub(crate) fn text(&self) -> String {
        let buffer = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut text = String::from_utf8_lossy(&buffer.kept).into_owned();
        if buffer.dropped > 0 {
            text.push_str(&format!("\n[{} more bytes dropped]", buffer.dropped));
        }
        text
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: excess is dropped rather than refused.
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.append(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
