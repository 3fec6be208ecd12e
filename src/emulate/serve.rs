//! The accept loop: HTTP/1.1 connections served by hyper, each closed once it has waited
//! `idle_timeout` for its next request (hyper's header-read timer runs from the moment a
//! connection can take a request until its head has arrived, and never while a response is
//! still being written), and all of them asked to finish on shutdown. A request's body has a
//! deadline of its own, kept where the body is read (`inbound.rs`).

use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

/// Serves `router` on `listener` until `stop` fires, then waits for open connections to end.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    idle_timeout: Duration,
    mut stop: oneshot::Receiver<()>,
) {
    // Every connection holds a receiver; all dropped means all closed.
    let (closing, closed) = watch::channel(false);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stop => break,
        };
        let Ok((tcp, _)) = accepted else {
            // Out of file descriptors and the like: back off briefly rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        // Small event frames must not wait for ACKs (Nagle + delayed ACK adds ~40 ms).
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let mut shutdown = closed.clone();
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(idle_timeout)
                .keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(tcp), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = shutdown.wait_for(|closing| *closing) => {}
            }
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = closing.send(true);
    drop(closed);
    closing.closed().await;
}
