//! Does the layer scale with threads? Throughput of the request path on one thread and on
//! two (this machine has two cores), each thread with its own clone of the service, all
//! sharing one layer — and, in the cached case, one token cache. With no global lock on the
//! path, two threads do close to twice the work of one.
//!
//! `cargo bench --bench scaling` prints, for each case, the median of several runs and the
//! ratio two threads / one thread.

use std::convert::Infallible;
use std::time::Instant;

use http::{HeaderValue, Request, Response};
use serde::{Deserialize, Serialize};
mod common;

use common::{Noop, call};
use tower::{Layer, Service};
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::{Algorithm, DecodingKey, EncodingKey, JwtAuthLayer, install_crypto_provider};

#[derive(Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    role: String,
}

fn run<S>(mut svc: S, bearer: &HeaderValue, n: usize)
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible>,
{
    for _ in 0..n {
        assert_eq!(call(&mut svc, bearer), 200);
    }
}

/// Requests per second with `threads` threads doing `n` requests each.
fn throughput<S>(svc: &S, bearer: &HeaderValue, threads: usize, n: usize) -> f64
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible> + Clone + Send,
{
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let svc = svc.clone();
            s.spawn(move || run(svc, bearer, n));
        }
    });
    (threads * n) as f64 / start.elapsed().as_secs_f64()
}

/// Median throughput on one thread and on two, runs interleaved.
fn one_and_two<S>(svc: &S, bearer: &HeaderValue, n: usize) -> (f64, f64)
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible> + Clone + Send,
{
    throughput(svc, bearer, 2, n / 10); // warm-up
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        one.push(throughput(svc, bearer, 1, n));
        two.push(throughput(svc, bearer, 2, n));
    }
    (median(one), median(two))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo test --benches asks for the list of benchmarks
    }
    install_crypto_provider().unwrap();
    let data =
        |f: &str| std::fs::read(format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let secret = b"scaling-secret-of-at-least-32-bytes!!";
    let cases = [
        (
            "HS256",
            Algorithm::HS256,
            EncodingKey::from_secret(secret).unwrap(),
            DecodingKey::from_secret(secret).unwrap(),
            false,
            200_000,
        ),
        (
            "RS256 cached",
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(&data("rsa_private.pem")).unwrap(),
            DecodingKey::from_rsa_pem(&data("rsa_public.pem")).unwrap(),
            true,
            200_000,
        ),
    ];
    println!(
        "{:<14}{:>16}{:>16}{:>10}",
        "case", "1 thread req/s", "2 threads req/s", "ratio"
    );
    // What the machine itself allows: the same loop without the layer shares nothing.
    let (one, two) = one_and_two(&Noop, &HeaderValue::from_static("Bearer x"), 2_000_000);
    println!(
        "{:<14}{one:>16.0}{two:>16.0}{:>9.2}×",
        "no layer",
        two / one
    );
    for (name, alg, enc, dec, cached, n) in cases {
        let claims = Claims {
            sub: "user".into(),
            exp: jsonwebtoken::get_current_timestamp() + 3600,
            role: "admin".into(),
        };
        let token = jsonwebtoken::encode(&Header::new(alg), &claims, &enc).unwrap();
        let bearer = HeaderValue::try_from(format!("Bearer {token}")).unwrap();
        let mut builder = JwtAuthLayer::<Claims>::builder().key(dec, alg);
        if cached {
            builder = builder.token_cache(10_000);
        }
        let svc = builder.build().unwrap().layer(Noop);
        let (one, two) = one_and_two(&svc, &bearer, n);
        println!("{name:<14}{one:>16.0}{two:>16.0}{:>9.2}×", two / one);
    }
}
