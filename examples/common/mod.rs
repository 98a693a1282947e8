//! What the examples share: the demo secret and the listen address.

/// For the demos only: anyone who reads this file can mint tokens with it.
#[allow(dead_code)] // The JWKS example signs with RSA keys.
const DEMO_SECRET: &str = "demo-secret-do-not-use-in-production-0123456789";

/// The HMAC secret from `JWT_SECRET`, or the demo secret with a warning.
#[allow(dead_code)] // The JWKS example signs with RSA keys.
pub fn secret() -> Vec<u8> {
    std::env::var("JWT_SECRET")
        .unwrap_or_else(|_| {
            eprintln!("warning: JWT_SECRET is not set; using the built-in demo secret");
            DEMO_SECRET.to_owned()
        })
        .into_bytes()
}

/// The address from `ADDR`, or `default`.
#[allow(dead_code)] // Not every example listens.
pub fn addr(default: &str) -> String {
    std::env::var("ADDR").unwrap_or_else(|_| default.to_owned())
}

/// Seconds since the Unix epoch.
#[allow(dead_code)] // Only the examples that mint tokens need it.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// With feature `metrics`: a Prometheus recorder for the layer's metrics, rendered at
/// `/metrics` (`cargo run --example axum --features metrics`). Without it, no route.
#[allow(dead_code)] // Only the axum examples serve it.
pub fn metrics<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    #[cfg(feature = "metrics")]
    {
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .install_recorder()
            .unwrap_or_else(|e| panic!("cannot install the metrics recorder: {e}"));
        axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || std::future::ready(handle.render())),
        )
    }
    #[cfg(not(feature = "metrics"))]
    axum::Router::new()
}
