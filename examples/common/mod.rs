//! What the examples share: the demo secret and the listen address.

/// For the demos only: anyone who reads this file can mint tokens with it.
const DEMO_SECRET: &str = "demo-secret-do-not-use-in-production-0123456789";

/// The HMAC secret from `JWT_SECRET`, or the demo secret with a warning.
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
