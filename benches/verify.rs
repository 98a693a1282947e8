//! Per-request cost of the layer next to jsonwebtoken on the same token, for each algorithm.
//!
//! For each algorithm: the no-op inner service alone (building the request included), the
//! bare signature check (`jsonwebtoken::crypto::verify`), a raw `jsonwebtoken::decode`, the
//! whole layer (extract, verify, validate, insert claims, call the no-op service), and the
//! layer answering from its verified-token cache. `scripts/bench-report.py` turns the
//! results into the ratio tables of BENCHMARKS.md.
//!
//! The crypto backend is the one the features select: `cargo bench` for aws-lc-rs,
//! `cargo bench --no-default-features --features rust-crypto` for RustCrypto.

use std::hint::black_box;

mod common;

use common::{Noop, SECRET, call, keys};
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use tower::Layer;
use tower_jwt_auth::jsonwebtoken::{self, Header, Validation};
use tower_jwt_auth::{Algorithm, JwtAuthLayer, install_crypto_provider};

/// A typical access token's claims.
#[derive(Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: u64,
    name: String,
    role: String,
}

/// What a `JwksClient` answers.
#[cfg(feature = "jwks")]
type Fetch<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<http::Response<bytes::Bytes>, tower_jwt_auth::jwks::BoxError>,
            > + Send
            + 'a,
    >,
>;

/// A JWKS client that serves one document from memory.
#[cfg(feature = "jwks")]
struct InMemory(bytes::Bytes);

#[cfg(feature = "jwks")]
impl tower_jwt_auth::jwks::JwksClient for InMemory {
    fn get<'a>(&'a self, _: &'a http::Uri, _: usize) -> Fetch<'a> {
        Box::pin(std::future::ready(Ok(http::Response::new(self.0.clone()))))
    }
}

/// OpenID providers in memory: `https://{host}` publishes a discovery document and a JWKS
/// holding the bench's HMAC secret (without a `kid`, as the bench's tokens have none).
#[cfg(feature = "jwks")]
struct Providers;

#[cfg(feature = "jwks")]
impl tower_jwt_auth::jwks::JwksClient for Providers {
    fn get<'a>(&'a self, url: &'a http::Uri, _: usize) -> Fetch<'a> {
        use base64::Engine as _;
        let host = url.host().unwrap_or_default();
        let doc = if url.path().ends_with("openid-configuration") {
            serde_json::json!({ "issuer": format!("https://{host}"), "jwks_uri": format!("https://{host}/jwks") })
        } else {
            let k = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(SECRET);
            serde_json::json!({ "keys": [{ "kty": "oct", "alg": "HS256", "k": k }] })
        };
        let body = bytes::Bytes::from(doc.to_string());
        Box::pin(std::future::ready(Ok(http::Response::new(body))))
    }
}

/// A layer whose key comes from a JWKS, fetched before it returns.
#[cfg(feature = "jwks")]
fn remote_layer(
    runtime: &tokio::runtime::Runtime,
    key: &tower_jwt_auth::EncodingKey,
    alg: Algorithm,
) -> JwtAuthLayer<Claims> {
    let jwk = tower_jwt_auth::jsonwebtoken::jwk::Jwk::from_encoding_key(key, alg).unwrap();
    let doc = serde_json::json!({ "keys": [jwk] }).to_string();
    let _guard = runtime.enter();
    let layer = JwtAuthLayer::<Claims>::builder()
        .jwks_url("https://idp.invalid/jwks.json")
        .jwks_client(InMemory(doc.into()))
        // HS256's key is a shared secret, which a fetched set may carry only when allowed
        // (without this, `ready()` below would wait for a key the set never gives).
        .jwks_options(tower_jwt_auth::jwks::JwksOptions::default().allow_hmac_keys(true))
        .build()
        .unwrap();
    runtime.block_on(layer.ready());
    layer
}

fn bench(c: &mut Criterion) {
    install_crypto_provider().unwrap();
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let (encoding, decoding) = keys(alg);
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: "user-1234".into(),
            exp: now + 3600,
            iat: now,
            name: "Jane Doe".into(),
            role: "admin".into(),
        };
        let token = jsonwebtoken::encode(&Header::new(alg), &claims, &encoding).unwrap();
        let bearer = HeaderValue::try_from(format!("Bearer {token}")).unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        let validation = Validation::new(alg);

        let layer = JwtAuthLayer::<Claims>::new(decoding.clone(), alg).unwrap();
        let mut plain = layer.layer(Noop);
        let cached = JwtAuthLayer::<Claims>::builder()
            .key(decoding.clone(), alg)
            .token_cache(10_000)
            .build()
            .unwrap();
        let mut cached = cached.layer(Noop);
        assert_eq!(call(&mut cached, &bearer), 200);
        let mut noop = Noop;
        assert_eq!(call(&mut plain, &bearer), 200);

        let mut group = c.benchmark_group(format!("{alg:?}"));
        #[cfg(feature = "jwks")]
        {
            // The same key, fetched as a JWKS: the request path must cost the same.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let remote = remote_layer(&runtime, &encoding, alg);
            let mut remote = remote.layer(Noop);
            assert_eq!(call(&mut remote, &bearer), 200);
            group.bench_function("layer_jwks", |b| {
                b.iter(|| call(&mut remote, black_box(&bearer)))
            });
        }
        group.bench_function("noop_service", |b| b.iter(|| call(&mut noop, &bearer)));
        group.bench_function("signature", |b| {
            b.iter(|| {
                jsonwebtoken::crypto::verify(
                    black_box(signature),
                    message.as_bytes(),
                    &decoding,
                    alg,
                )
                .unwrap()
            })
        });
        group.bench_function("decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation).unwrap()
            })
        });
        group.bench_function("layer", |b| b.iter(|| call(&mut plain, black_box(&bearer))));
        group.bench_function("layer_cached", |b| {
            b.iter(|| call(&mut cached, black_box(&bearer)))
        });
        group.finish();
        if alg == Algorithm::HS256 {
            floor(c, &token, &decoding, &claims);
        }
    }
}

/// What any HS256 layer must pay, each part alone: the HMAC with its key schedule built
/// once, base64url-decoding the payload, serde_json reading `Claims` from it (allocating and
/// dropping its strings), and an extensions map holding one value. Their sum is the floor
/// of the layer's net cost with this backend and serde_json; the rest of the layer (finding
/// the token, the header, the registered claims, the clock) is what it adds on top.
fn floor(c: &mut Criterion, token: &str, decoding: &tower_jwt_auth::DecodingKey, claims: &Claims) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg = Algorithm::HS256;
    let provider = install_crypto_provider().unwrap();
    let verifier = (provider.verifier_factory)(&alg, decoding).unwrap();
    let (message, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let payload_b64 = message.split_once('.').unwrap().1;
    let payload = URL_SAFE_NO_PAD.decode(payload_b64).unwrap();
    assert!(verifier.verify(message.as_bytes(), &signature).is_ok());
    assert_eq!(
        serde_json::from_slice::<Claims>(&payload).unwrap().sub,
        claims.sub
    );

    let mut group = c.benchmark_group("HS256_floor");
    group.bench_function("signature_keyed_once", |b| {
        b.iter(|| verifier.verify(black_box(message.as_bytes()), &signature))
    });
    group.bench_function("payload_base64", |b| {
        let mut buf = [0u8; 1024];
        b.iter(|| URL_SAFE_NO_PAD.decode_slice(black_box(payload_b64), &mut buf))
    });
    group.bench_function("claims_json", |b| {
        b.iter(|| serde_json::from_slice::<Claims>(black_box(&payload)).unwrap())
    });
    group.bench_function("extensions", |b| {
        b.iter(|| {
            let mut extensions = http::Extensions::new();
            extensions.insert(black_box(0u64));
            extensions
        })
    });
    group.finish();
}

/// A claims type that reads `sub` alone (the grants come from the layer, not from it).
#[derive(Clone, serde::Deserialize)]
struct User {
    #[allow(dead_code)]
    sub: String,
}

/// Grants read from the standard `scope` claim, against the same grants read through a
/// claim mapping from a nested member (Keycloak's `realm_access.roles`), in the same token:
/// the mapping's cost.
fn grants(c: &mut Criterion) {
    install_crypto_provider().unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let (encoding, decoding) = keys(Algorithm::HS256);
    let mint = |extra: serde_json::Value| {
        let mut claims = serde_json::json!({
            "sub": "user-1234", "exp": now + 3600, "iat": now, "name": "Jane Doe",
        });
        claims
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &encoding);
        HeaderValue::try_from(format!("Bearer {}", token.unwrap())).unwrap()
    };
    // One token carries both, so that both layers check the same signature over the same
    // bytes: only where the grants are read from differs.
    let token = mint(serde_json::json!({
        "scope": "notes:read notes:write",
        "realm_access": { "roles": ["notes:read", "notes:write"] }
    }));
    let (scope, nested) = (token.clone(), token);
    let builder = || JwtAuthLayer::<User>::builder().key(decoding.clone(), Algorithm::HS256);
    let mut standard = builder().build().unwrap().layer(Noop);
    let mut mapped = builder()
        .scopes_from(["/realm_access/roles"])
        .build()
        .unwrap()
        .layer(Noop);
    assert_eq!(call(&mut standard, &scope), 200);
    assert_eq!(call(&mut mapped, &nested), 200);
    let mut group = c.benchmark_group("HS256_grants");
    group.bench_function("scope_claim", |b| {
        b.iter(|| call(&mut standard, black_box(&scope)))
    });
    group.bench_function("mapped_nested", |b| {
        b.iter(|| call(&mut mapped, black_box(&nested)))
    });
    group.finish();
}

/// Two issuers on one layer (issue #22): sharing the layer's policy, as several
/// `issuer`s do, against one `IssuerPolicy` each (its own key, audience and mapping). The
/// token is the second issuer's, signed with the same HMAC either way, so only the routing
/// by `iss` to that issuer's keys and policy differs.
fn issuers(c: &mut Criterion) {
    use tower_jwt_auth::tenant::IssuerPolicy;
    install_crypto_provider().unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let (encoding, _) = keys(Algorithm::HS256);
    let mint = |aud: &str| {
        let claims = serde_json::json!({
            "sub": "user-1234", "iss": "https://b.example", "aud": aud,
            "exp": now + 3600, "iat": now, "scope": "notes:read",
        });
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &encoding);
        HeaderValue::try_from(format!("Bearer {}", token.unwrap())).unwrap()
    };
    let mut shared = JwtAuthLayer::<User>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .issuers(["https://a.example", "https://b.example"])
        .audience("api")
        .build()
        .unwrap()
        .layer(Noop);
    let policy = |issuer: &str, secret: &[u8], audience: &str| {
        IssuerPolicy::with_keys(issuer)
            .hmac_secret(secret, Algorithm::HS256)
            .audience(audience)
    };
    let mut per_issuer = JwtAuthLayer::<User>::builder()
        .issuer_policy(policy(
            "https://a.example",
            b"another-secret-of-at-least-32-bytes!",
            "api-a",
        ))
        .issuer_policy(policy("https://b.example", SECRET, "api-b"))
        .build()
        .unwrap()
        .layer(Noop);
    let (for_shared, for_b) = (mint("api"), mint("api-b"));
    assert_eq!(call(&mut shared, &for_shared), 200);
    assert_eq!(call(&mut per_issuer, &for_b), 200);
    assert_eq!(
        call(&mut per_issuer, &for_shared),
        401,
        "B's policy names its audience"
    );
    let mut group = c.benchmark_group("HS256_issuers");
    group.bench_function("shared_policy", |b| {
        b.iter(|| call(&mut shared, black_box(&for_shared)))
    });
    #[cfg(feature = "jwks")]
    {
        // Two OpenID providers sharing the layer's policy, each with its own keys, as
        // several `oidc_issuer`s were configured before issuer policies: tokens are routed
        // by `iss` to their provider's keys too.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = runtime.enter();
        let providers = JwtAuthLayer::<User>::builder()
            .oidc_issuer("https://a.example")
            .oidc_issuer("https://b.example")
            .jwks_client(Providers)
            .jwks_options(tower_jwt_auth::jwks::JwksOptions::default().allow_hmac_keys(true))
            .audience("api")
            .build()
            .unwrap();
        runtime.block_on(providers.ready());
        let mut providers = providers.layer(Noop);
        assert_eq!(call(&mut providers, &for_shared), 200);
        group.bench_function("shared_policy_routed", |b| {
            b.iter(|| call(&mut providers, black_box(&for_shared)))
        });
    }
    group.bench_function("per_issuer_policy", |b| {
        b.iter(|| call(&mut per_issuer, black_box(&for_b)))
    });
    group.finish();
}

/// The worst a client can send: each answered without any signature check, or with one.
fn hostile(c: &mut Criterion) {
    install_crypto_provider().unwrap();
    let (_, rsa) = keys(Algorithm::RS256);
    let layer = JwtAuthLayer::<Claims>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .key(rsa, Algorithm::RS256)
        .build()
        .unwrap();
    let mut svc = layer.layer(Noop);
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let nested = format!(
        r#"{{"alg":"HS256","x":{}1{}}}"#,
        "[".repeat(2000),
        "]".repeat(2000)
    );
    let (rs_encoding, _) = keys(Algorithm::RS256);
    let claims =
        serde_json::json!({ "sub": "x", "exp": jsonwebtoken::get_current_timestamp() + 3600 });
    let rs = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &rs_encoding).unwrap();
    let forged_rs = format!("{}AAAA", &rs[..rs.len() - 4]);
    let cases = [
        ("1 MiB token", "a".repeat(1 << 20)),
        ("8 KiB of dots", ".".repeat(8 * 1024 - 1)),
        (
            "8 KiB of base64url",
            format!(
                "{}.{}.{}",
                "A".repeat(4000),
                "B".repeat(4000),
                "C".repeat(100)
            ),
        ),
        (
            "JSON nested 2000 deep",
            format!("{}.e30.AAAA", b64(&nested)),
        ),
        ("RS256, forged signature", forged_rs),
    ];
    let mut group = c.benchmark_group("hostile");
    for (name, token) in cases {
        let bearer = HeaderValue::try_from(format!("Bearer {token}")).unwrap();
        assert_ne!(call(&mut svc, &bearer), 200, "{name}");
        group.bench_function(name, |b| b.iter(|| call(&mut svc, black_box(&bearer))));
    }
    group.finish();
}

/// What DPoP adds to a request (RFC 9449): the same HS256 access token, bound to an ES256
/// key and sent with a fresh proof (made before the timing starts: a client's cost), next
/// to an unbound one sent as a bearer token through the same layer; and the proof's ES256
/// signature check alone, the floor of the difference. The replay cache is sized so that
/// it never fills during a run.
fn dpop(c: &mut Criterion) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use criterion::BatchSize;
    use std::task::{Context, Poll, Waker};
    use tower::Service;
    use tower_jwt_auth::dpop::DpopOptions;
    use tower_jwt_auth::issue::TokenIssuer;
    use tower_jwt_auth::jsonwebtoken::jwk::{Jwk, ThumbprintHash};

    let provider = install_crypto_provider().unwrap();
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256).build().unwrap();
    let options = DpopOptions::default()
        .external_url(Some("https://api.example.com".into()))
        .allow_bearer(true)
        .replay_capacity(2_000_000);
    let layer = issuer
        .layer_builder::<serde_json::Value>()
        .dpop(options)
        .build()
        .unwrap();
    let mut svc = layer.layer(Noop);
    let (proof_key, proof_public) = keys(Algorithm::ES256);
    let jwk = Jwk::from_encoding_key(&proof_key, Algorithm::ES256).unwrap();
    let jkt = jwk.thumbprint(ThumbprintHash::SHA256).unwrap();
    let claims = serde_json::json!({ "sub": "alice", "name": "Alice", "role": "admin" });
    let bound = issuer.issue_bound(&claims, &jkt).unwrap();
    let unbound =
        HeaderValue::try_from(format!("Bearer {}", issuer.issue(&claims).unwrap())).unwrap();
    let authorization = HeaderValue::try_from(format!("DPoP {bound}")).unwrap();
    let ath = URL_SAFE_NO_PAD.encode(
        (provider.key_utils.compute_digest)(bound.as_bytes(), ThumbprintHash::SHA256).unwrap(),
    );
    let mut sent = 0u64;
    let mut proof = || {
        sent += 1;
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(jwk.clone());
        let claims = serde_json::json!({
            "jti": format!("bench-{sent}"),
            "htm": "GET",
            "htu": "https://api.example.com/",
            "iat": jsonwebtoken::get_current_timestamp(),
            "ath": ath,
        });
        HeaderValue::try_from(jsonwebtoken::encode(&header, &claims, &proof_key).unwrap()).unwrap()
    };
    let send = |svc: &mut _, proof: HeaderValue| -> u16 {
        let req = http::Request::builder()
            .uri("/")
            .header(http::header::AUTHORIZATION, authorization.clone())
            .header("dpop", proof)
            .body(())
            .unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        let fut = std::pin::pin!(Service::call(svc, req));
        match std::future::Future::poll(fut, &mut cx) {
            Poll::Ready(Ok(res)) => http::Response::status(&res).as_u16(),
            _ => unreachable!("the no-op service answers at once"),
        }
    };
    assert_eq!(send(&mut svc, proof()), 200);
    assert_eq!(call(&mut svc, &unbound), 200);

    let sample = proof();
    let sample = sample.to_str().unwrap().to_owned();
    let (message, signature) = sample.rsplit_once('.').unwrap();

    let mut group = c.benchmark_group("DPoP");
    group.bench_function("bearer_HS256", |b| {
        b.iter(|| call(&mut svc, black_box(&unbound)))
    });
    group.bench_function("dpop_HS256_token_ES256_proof", |b| {
        b.iter_batched(
            &mut proof,
            |proof| assert_eq!(send(&mut svc, proof), 200),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("proof_signature_ES256", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::verify(
                black_box(signature),
                message.as_bytes(),
                &proof_public,
                Algorithm::ES256,
            )
            .unwrap()
        })
    });
    group.finish();
}

/// An opaque token whose introspection answer the layer keeps, next to a JWT found in the
/// verified-token cache, both with the claims of `Claims`: the request path of a kept answer
/// (the token's SHA-256 digest, the lookup, the claims cloned out) against a cache hit's
/// (the whole token compared); and the JWT's hit through the layer that introspects (what
/// telling a JWT from an opaque token adds). The answer is fetched once, before the timing,
/// from an endpoint served in-process on loopback.
#[cfg(feature = "jwks")]
fn introspection(c: &mut Criterion) {
    use tower_jwt_auth::introspection::{ClientAuth, Introspection};

    install_crypto_provider().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: "user-1234".into(),
        exp: now + 3600,
        iat: now,
        name: "Jane Doe".into(),
        role: "admin".into(),
    };
    let mut answer = serde_json::to_value(&claims).unwrap();
    answer["active"] = true.into();
    let answer = answer.to_string();
    let endpoint = axum::Router::new().route(
        "/introspect",
        axum::routing::post(move || std::future::ready(answer.clone())),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, endpoint).await.unwrap() });

    let (encoding, decoding) = keys(Algorithm::RS256);
    let introspected = {
        let _guard = runtime.enter();
        let url = format!("http://{addr}/introspect");
        let introspection = Introspection::endpoint(url, ClientAuth::basic("bench", "secret"))
            .cache_for(std::time::Duration::from_secs(3600));
        JwtAuthLayer::<Claims>::builder()
            .key(decoding.clone(), Algorithm::RS256)
            .token_cache(10_000)
            .introspection(introspection)
            .build()
            .unwrap()
    };
    let opaque = "2YotnFZFEjr1zCsicMWpAA-bench-opaque-token";
    runtime
        .block_on(introspected.verifier().verify_async(opaque))
        .unwrap();
    let mut introspected = introspected.layer(Noop);
    let opaque = HeaderValue::try_from(format!("Bearer {opaque}")).unwrap();
    assert_eq!(call(&mut introspected, &opaque), 200);

    let cached = JwtAuthLayer::<Claims>::builder()
        .key(decoding, Algorithm::RS256)
        .token_cache(10_000)
        .build()
        .unwrap();
    let mut cached = cached.layer(Noop);
    let jwt = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &encoding).unwrap();
    let jwt = HeaderValue::try_from(format!("Bearer {jwt}")).unwrap();
    assert_eq!(call(&mut cached, &jwt), 200);

    let mut group = c.benchmark_group("introspection");
    group.bench_function("jwt_RS256_cache_hit", |b| {
        b.iter(|| call(&mut cached, black_box(&jwt)))
    });
    group.bench_function("opaque_kept_answer", |b| {
        b.iter(|| call(&mut introspected, black_box(&opaque)))
    });
    // A JWT through the layer that also introspects: what telling the two apart costs.
    assert_eq!(call(&mut introspected, &jwt), 200);
    group.bench_function("jwt_RS256_cache_hit_beside_introspection", |b| {
        b.iter(|| call(&mut introspected, black_box(&jwt)))
    });
    group.finish();
}

#[cfg(feature = "jwks")]
criterion_group!(
    benches,
    bench,
    grants,
    issuers,
    hostile,
    dpop,
    introspection
);
#[cfg(not(feature = "jwks"))]
criterion_group!(benches, bench, grants, issuers, hostile, dpop);
criterion_main!(benches);
