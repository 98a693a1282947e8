//! Issuer policies (issue #22, part 1): several trusted issuers on one layer, each held to its
//! own keys, audiences, claim mapping and leeway — the multi-tenant shape where each tenant's
//! administrator controls what its identity provider puts in a token.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::tenant::{IssuerPolicy, TrustedIssuer, TrustedIssuers};
use tower_jwt_auth::{Algorithm, AuthError, ConfigError, EncodingKey, JwtAuthLayer};

const A: &str = "https://idp.tenant-a.example";
const B: &str = "https://idp.tenant-b.example";
const SECRET_A: &[u8] = b"tenant A's secret: thirty-two bytes";
const SECRET_B: &[u8] = b"tenant B's secret: thirty-two bytes";

/// Tenant A: audience `notes-a`, roles from `/groups`. Tenant B: audience `notes-b`, roles
/// from `/realm_access/roles`.
fn two_tenants() -> JwtAuthLayer<Value> {
    JwtAuthLayer::<Value>::builder()
        .issuer_policy(
            IssuerPolicy::with_keys(A)
                .hmac_secret(SECRET_A, Algorithm::HS256)
                .audience("notes-a")
                .roles_from(["/groups"]),
        )
        .issuer_policy(
            IssuerPolicy::with_keys(B)
                .hmac_secret(SECRET_B, Algorithm::HS256)
                .audience("notes-b")
                .roles_from(["/realm_access/roles"]),
        )
        .build()
        .unwrap()
}

/// A token with these claims, signed by `secret`.
fn signed(secret: &[u8], claims: Value) -> String {
    let mut claims = claims;
    claims["exp"] = json!(now() + 600);
    mint_with(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
}

#[test]
fn each_issuer_passes_with_its_own_audience_only() {
    let layer = two_tenants();
    let a = signed(
        SECRET_A,
        json!({ "iss": A, "sub": "alice", "aud": "notes-a" }),
    );
    let b = signed(
        SECRET_B,
        json!({ "iss": B, "sub": "bob", "aud": "notes-b" }),
    );
    assert!(layer.verify(&a).is_ok());
    assert!(layer.verify(&b).is_ok());
    // Tenant A's administrator mints a token for B's audience: checked against A's policy.
    let a_for_b = signed(
        SECRET_A,
        json!({ "iss": A, "sub": "mallory", "aud": "notes-b" }),
    );
    assert_eq!(
        layer.verify(&a_for_b).unwrap_err(),
        AuthError::InvalidAudience
    );
    // Or claims to be B, with A's key: B's keys decide.
    let a_as_b = signed(
        SECRET_A,
        json!({ "iss": B, "sub": "mallory", "aud": "notes-b" }),
    );
    assert_eq!(
        layer.verify(&a_as_b).unwrap_err(),
        AuthError::InvalidSignature
    );
    // No trusted issuer, or none named: refused before any key is looked at.
    let stranger = signed(
        SECRET_A,
        json!({ "iss": "https://evil.example", "aud": "notes-a" }),
    );
    assert_eq!(
        layer.verify(&stranger).unwrap_err(),
        AuthError::InvalidIssuer
    );
    let anonymous = signed(SECRET_A, json!({ "aud": "notes-a" }));
    assert_eq!(
        layer.verify(&anonymous).unwrap_err(),
        AuthError::MissingClaim
    );
}

#[tokio::test]
async fn an_issuers_token_never_receives_another_issuers_mapped_roles() {
    let admin_app = || {
        axum::Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .route_layer(Require::<Value>::role("admin").build().unwrap())
            .layer(two_tenants())
    };
    // `admin` where B's mapping reads roles, in a token of A: A's mapping reads `/groups`.
    let a_with_b_shape = signed(
        SECRET_A,
        json!({ "iss": A, "aud": "notes-a", "realm_access": { "roles": ["admin"] } }),
    );
    assert_eq!(status_of(&admin_app(), &a_with_b_shape).await, 403);
    let a_admin = signed(
        SECRET_A,
        json!({ "iss": A, "aud": "notes-a", "groups": ["admin"] }),
    );
    assert_eq!(status_of(&admin_app(), &a_admin).await, 200);
    let b_admin = signed(
        SECRET_B,
        json!({ "iss": B, "aud": "notes-b", "realm_access": { "roles": ["admin"] } }),
    );
    assert_eq!(status_of(&admin_app(), &b_admin).await, 200);
    let b_with_a_shape = signed(
        SECRET_B,
        json!({ "iss": B, "aud": "notes-b", "groups": ["admin"] }),
    );
    assert_eq!(status_of(&admin_app(), &b_with_a_shape).await, 403);
}

#[tokio::test]
async fn handlers_learn_which_issuer_the_token_came_from() {
    let handler = |tenant: Option<axum::Extension<TrustedIssuer>>| async move {
        tenant.map_or("none".to_owned(), |t| t.as_str().to_owned())
    };
    let app = axum::Router::new()
        .route("/", axum::routing::get(handler))
        .layer(two_tenants());
    for (secret, iss, aud) in [(SECRET_A, A, "notes-a"), (SECRET_B, B, "notes-b")] {
        let token = signed(secret, json!({ "iss": iss, "aud": aud }));
        let answer = call(&app, "/", &[("authorization", &bearer(&token))]).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, iss);
    }
    let token = signed(SECRET_B, json!({ "iss": B, "aud": "notes-b" }));
    let verified = two_tenants().verifier().verify(&token).unwrap();
    assert_eq!(verified.trusted_issuer(), Some(B));
}

/// The layer's own keys keep serving tokens of no trusted issuer, under the layer's own
/// rules; a token naming a trusted issuer never falls back to them.
#[test]
fn the_layers_own_keys_serve_beside_the_issuers() {
    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .audience("internal")
        .issuer_policy(
            IssuerPolicy::with_keys(A)
                .hmac_secret(SECRET_A, Algorithm::HS256)
                .audience("notes-a"),
        )
        .build()
        .unwrap();
    let internal = signed(
        SECRET,
        json!({ "iss": "https://internal.example", "aud": "internal" }),
    );
    let verified = layer.verifier().verify(&internal).unwrap();
    assert_eq!(verified.trusted_issuer(), None);
    let posing_as_a = signed(SECRET, json!({ "iss": A, "aud": "notes-a" }));
    assert_eq!(
        layer.verify(&posing_as_a).unwrap_err(),
        AuthError::InvalidSignature
    );
    let a_for_internal = signed(SECRET_A, json!({ "iss": A, "aud": "internal" }));
    assert_eq!(
        layer.verify(&a_for_internal).unwrap_err(),
        AuthError::InvalidAudience
    );
}

/// A policy's leeway is its own; what it leaves unsaid is the layer's.
#[test]
fn leeway_is_per_issuer() {
    let layer = JwtAuthLayer::<Value>::builder()
        .leeway(Duration::ZERO)
        .issuer_policy(
            IssuerPolicy::with_keys(A)
                .hmac_secret(SECRET_A, Algorithm::HS256)
                .audience("notes-a")
                .leeway(Duration::from_secs(120)),
        )
        .issuer_policy(
            IssuerPolicy::with_keys(B)
                .hmac_secret(SECRET_B, Algorithm::HS256)
                .audience("notes-b"),
        )
        .build()
        .unwrap();
    let expired_a_minute_ago = |secret: &[u8], iss: &str, aud: &str| {
        mint_with(
            &Header::new(Algorithm::HS256),
            &json!({ "iss": iss, "aud": aud, "exp": now() - 60 }),
            &EncodingKey::from_secret(secret).unwrap(),
        )
    };
    assert!(
        layer
            .verify(&expired_a_minute_ago(SECRET_A, A, "notes-a"))
            .is_ok()
    );
    assert_eq!(
        layer
            .verify(&expired_a_minute_ago(SECRET_B, B, "notes-b"))
            .unwrap_err(),
        AuthError::Expired
    );
}

#[test]
fn one_issuer_trusted_twice_fails_at_build() {
    let policy = || IssuerPolicy::with_keys(A).hmac_secret(SECRET_A, Algorithm::HS256);
    let twice = JwtAuthLayer::<Value>::builder()
        .issuer_policy(policy())
        .issuer_policy(
            IssuerPolicy::with_keys(B)
                .also_named(A)
                .hmac_secret(SECRET_B, Algorithm::HS256),
        )
        .build()
        .unwrap_err();
    assert_eq!(twice, ConfigError::DuplicateIssuer(A.into()));
    let no_key = JwtAuthLayer::<Value>::builder()
        .issuer_policy(IssuerPolicy::with_keys(A))
        .build()
        .unwrap_err();
    assert_eq!(no_key, ConfigError::NoKeys);
    assert!(
        JwtAuthLayer::<Value>::builder()
            .issuer_policy(policy())
            .build()
            .is_ok()
    );
}

/// Keys fetched per issuer: a token naming an issuer nobody trusts, or a made-up `kid` of no
/// trusted issuer, costs the key servers nothing.
#[cfg(feature = "jwks")]
#[tokio::test]
async fn an_unknown_issuer_costs_no_fetch() {
    use axum::extract::State;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let fetches = Arc::new(AtomicUsize::new(0));
    let jwks = |State(fetches): State<Arc<AtomicUsize>>| async move {
        fetches.fetch_add(1, Ordering::SeqCst);
        let key = tower_jwt_auth::jsonwebtoken::jwk::Jwk::from_encoding_key(
            &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
            Algorithm::RS256,
        )
        .unwrap();
        let mut key = serde_json::to_value(key).unwrap();
        key["kid"] = json!("a-1");
        axum::Json(json!({ "keys": [key] }))
    };
    let app = axum::Router::new()
        .route("/jwks.json", axum::routing::get(jwks))
        .with_state(Arc::clone(&fetches));
    let addr = serve(app).await;
    let layer = JwtAuthLayer::<Value>::builder()
        .issuer_policy(
            IssuerPolicy::jwks(A, format!("http://{addr}/jwks.json")).audience("notes-a"),
        )
        .build()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), layer.ready())
        .await
        .unwrap();
    let fetched = fetches.load(Ordering::SeqCst);
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("made-up".into());
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
    let claims = |iss: &str| json!({ "iss": iss, "aud": "notes-a", "exp": now() + 600 });
    for n in 0..20 {
        let stranger = mint_with(
            &header,
            &claims(&format!("https://tenant-{n}.example")),
            &rsa,
        );
        assert_eq!(
            layer.verifier().verify_async(&stranger).await.unwrap_err(),
            AuthError::InvalidIssuer
        );
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        fetched,
        "no fetch for strangers"
    );
    header.kid = Some("a-1".into());
    assert!(layer.verify(&mint_with(&header, &claims(A), &rsa)).is_ok());
}

/// Issue #22: tenants onboarded and offboarded while the layer serves. An issuer added is
/// trusted from the next request on, with its own policy; removed, its tokens are refused
/// from the next request on — the token cache included, which never keeps them.
#[tokio::test]
async fn an_issuer_added_or_removed_at_run_time_counts_from_the_next_request() {
    let tenants = TrustedIssuers::new();
    let layer = JwtAuthLayer::<Value>::builder()
        .issuer_policy(
            IssuerPolicy::with_keys(A)
                .hmac_secret(SECRET_A, Algorithm::HS256)
                .audience("notes-a"),
        )
        .trusted_issuers(tenants.clone())
        .token_cache(100)
        .build()
        .unwrap();
    let app = ok_behind(layer.clone());
    let b = signed(SECRET_B, json!({ "iss": B, "aud": "notes-b" }));
    assert_eq!(layer.verify(&b).unwrap_err(), AuthError::InvalidIssuer);
    tenants
        .add(
            IssuerPolicy::with_keys(B)
                .hmac_secret(SECRET_B, Algorithm::HS256)
                .audience("notes-b"),
        )
        .unwrap();
    assert!(tenants.contains(B));
    for _ in 0..3 {
        assert_eq!(status_of(&app, &b).await, 200);
    }
    let verified = layer.verifier().verify(&b).unwrap();
    assert_eq!(verified.trusted_issuer(), Some(B));
    // Its own policy: A's audience is not B's.
    let b_for_a = signed(SECRET_B, json!({ "iss": B, "aud": "notes-a" }));
    assert_eq!(
        layer.verify(&b_for_a).unwrap_err(),
        AuthError::InvalidAudience
    );
    assert!(tenants.remove(B));
    assert!(!tenants.remove(B), "already gone");
    assert_eq!(status_of(&app, &b).await, 401);
    assert_eq!(layer.verify(&b).unwrap_err(), AuthError::InvalidIssuer);
    // The layer's own issuer policy cannot be shadowed at run time.
    let shadow = IssuerPolicy::with_keys(A).hmac_secret(SECRET_B, Algorithm::HS256);
    assert_eq!(
        tenants.add(shadow).unwrap_err(),
        ConfigError::DuplicateIssuer(A.into())
    );
}

#[test]
fn issuers_added_before_the_layer_is_built_are_checked_at_build() {
    let tenants = TrustedIssuers::new();
    tenants
        .add(
            IssuerPolicy::with_keys(B)
                .hmac_secret(SECRET_B, Algorithm::HS256)
                .audience("notes-b"),
        )
        .unwrap();
    let layer = JwtAuthLayer::<Value>::builder()
        .trusted_issuers(tenants.clone())
        .build()
        .unwrap();
    let b = signed(SECRET_B, json!({ "iss": B, "aud": "notes-b" }));
    assert!(layer.verify(&b).is_ok());
    // One registry, one layer.
    let second = JwtAuthLayer::<Value>::builder()
        .trusted_issuers(tenants.clone())
        .build()
        .unwrap_err();
    assert_eq!(second, ConfigError::RegistryInUse);
    // A policy without keys fails when it is added to a built layer's registry.
    assert_eq!(
        tenants.add(IssuerPolicy::with_keys(A)).unwrap_err(),
        ConfigError::NoKeys
    );
    let broken = TrustedIssuers::new();
    broken.add(IssuerPolicy::with_keys(A)).unwrap();
    let err = JwtAuthLayer::<Value>::builder()
        .trusted_issuers(broken)
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::NoKeys);
}

/// A policy's `Debug` (what ends up in logs) never shows its keys.
#[test]
fn a_policys_debug_keeps_its_secret() {
    let policy = IssuerPolicy::with_keys(A).hmac_secret(SECRET_A, Algorithm::HS256);
    let shown = format!("{policy:?}");
    assert!(shown.contains(A), "{shown}");
    let secret = String::from_utf8_lossy(SECRET_A);
    let bytes = format!("{:?}", SECRET_A.to_vec());
    assert!(
        !shown.contains(&*secret) && !shown.contains(&bytes[1..20]),
        "{shown}"
    );
}

/// A layer trusting A with its own policy (audience `notes`), and the issuers of `tenants`.
fn own_and(tenants: &TrustedIssuers) -> JwtAuthLayer<Value> {
    JwtAuthLayer::<Value>::builder()
        .issuer_policy(
            IssuerPolicy::with_keys(A)
                .hmac_secret(SECRET_A, Algorithm::HS256)
                .audience("notes"),
        )
        .trusted_issuers(tenants.clone())
        .build()
        .unwrap()
}

/// A tenant's secret, its policy (audience `notes`), and a token it signed.
fn tenant_secret(tid: &str) -> String {
    format!("tenant {tid}'s secret, thirty-two bytes at least")
}

fn tenant_policy(iss: &str, tid: &str) -> IssuerPolicy {
    IssuerPolicy::with_keys(iss)
        .hmac_secret(tenant_secret(tid), Algorithm::HS256)
        .audience("notes")
}

fn tenant_token(iss: &str, tid: &str) -> String {
    signed(
        tenant_secret(tid).as_bytes(),
        json!({ "iss": iss, "aud": "notes" }),
    )
}

/// Issuers trusted on first sight through `resolve_with`: an allow-list of onboarded
/// tenants (the Entra multi-tenant shape: one `iss` per tenant id), each with a secret of
/// its own; at most two kept at once.
#[tokio::test]
async fn issuers_resolved_on_first_sight_are_trusted_within_a_bound() {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, RwLock};

    let tenant = |tid: &str| format!("https://login.microsoftonline.com/{tid}/v2.0");
    let onboarded: Arc<RwLock<HashSet<String>>> = Arc::default();
    onboarded
        .write()
        .unwrap()
        .extend(["t1", "t2", "t3"].map(String::from));
    let asked = Arc::new(AtomicUsize::new(0));
    let (known, count) = (Arc::clone(&onboarded), Arc::clone(&asked));
    let tenants = TrustedIssuers::new().resolve_with(2, move |iss| {
        count.fetch_add(1, Ordering::SeqCst);
        let tid = iss
            .strip_prefix("https://login.microsoftonline.com/")?
            .strip_suffix("/v2.0")?;
        known
            .read()
            .unwrap()
            .contains(tid)
            .then(|| tenant_policy(iss, tid))
    });
    let layer = own_and(&tenants);
    let app = ok_behind(layer.clone());
    let token = |tid: &str| tenant_token(&tenant(tid), tid);
    let asked_so_far = || asked.load(Ordering::SeqCst);

    // The layer's own issuer is never asked about.
    let a = signed(SECRET_A, json!({ "iss": A, "aud": "notes" }));
    assert_eq!(status_of(&app, &a).await, 200);
    assert_eq!(asked_so_far(), 0);
    // An onboarded tenant: asked once, then trusted.
    assert_eq!(status_of(&app, &token("t1")).await, 200);
    assert_eq!(status_of(&app, &token("t1")).await, 200);
    assert_eq!(asked_so_far(), 1);
    assert!(tenants.contains(&tenant("t1")));
    // Its own policy: another tenant's secret under its name does not pass.
    let forged = signed(
        tenant_secret("t2").as_bytes(),
        json!({ "iss": tenant("t1"), "aud": "notes" }),
    );
    assert_eq!(
        layer.verify(&forged).unwrap_err(),
        AuthError::InvalidSignature
    );
    // Not onboarded, or made up: refused, and nothing kept.
    assert_eq!(
        layer.verify(&token("t9")).unwrap_err(),
        AuthError::InvalidIssuer
    );
    assert_eq!(status_of(&app, &token("t9")).await, 401);
    assert!(!tenants.contains(&tenant("t9")));
    assert_eq!(
        asked_so_far(),
        3,
        "asked each time: nothing kept for a refusal"
    );
    // A third tenant within a bound of two: the one made longest ago is forgotten...
    assert_eq!(status_of(&app, &token("t2")).await, 200);
    assert_eq!(status_of(&app, &token("t3")).await, 200);
    assert!(!tenants.contains(&tenant("t1")));
    assert!(tenants.contains(&tenant("t2")) && tenants.contains(&tenant("t3")));
    // ...and asked about again when it comes back.
    let before = asked_so_far();
    assert_eq!(status_of(&app, &token("t1")).await, 200);
    assert_eq!(asked_so_far(), before + 1);
    // Offboarding: no longer answered for, and removed: refused from the next request.
    onboarded.write().unwrap().remove("t3");
    assert!(tenants.remove(&tenant("t3")));
    assert_eq!(status_of(&app, &token("t3")).await, 401);
}

/// Issue #22, part 1: issuers looked up with a round trip (`resolve_with_async`: a tenant
/// table in a database). Requests naming a new issuer wait for one shared lookup; a refusal
/// is not kept; a lookup past its timeout refuses (both sides of the edge); a flood of
/// made-up issuers is bounded and never delays a trusted one.
#[cfg(feature = "jwks")]
#[tokio::test]
async fn issuers_resolved_asynchronously_share_one_lookup_within_bounds() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;
    use tokio::sync::watch;

    let tenant = |tid: &str| format!("https://idp.example.com/tenants/{tid}");
    let asked = Arc::new(AtomicUsize::new(0));
    // Lookups of ordinary tenants wait for `open`; of "flood-…" ones, for `flood` (never).
    let (open, _) = watch::channel(false);
    let (flood, _) = watch::channel(false);
    let (open_rx, flood_rx, count) = (open.subscribe(), flood.subscribe(), Arc::clone(&asked));
    let tenants =
        TrustedIssuers::new().resolve_with_async(100, Duration::from_millis(300), move |iss| {
            count.fetch_add(1, Ordering::SeqCst);
            let iss = iss.to_owned();
            let (mut open, mut flood) = (open_rx.clone(), flood_rx.clone());
            async move {
                let tid = iss
                    .strip_prefix("https://idp.example.com/tenants/")?
                    .to_owned();
                match tid.as_str() {
                    "quick" => tokio::time::sleep(Duration::from_millis(100)).await,
                    "slow" => tokio::time::sleep(Duration::from_millis(600)).await,
                    t if t.starts_with("flood") => drop(flood.wait_for(|o| *o).await),
                    _ => drop(open.wait_for(|o| *o).await),
                }
                let onboarded = ["t1", "t2", "quick", "slow"].contains(&tid.as_str());
                onboarded.then(|| tenant_policy(&iss, &tid))
            }
        });
    let layer = own_and(&tenants);
    let app = ok_behind(layer.clone());
    let token = |tid: &str| tenant_token(&tenant(tid), tid);
    let asked_so_far = || asked.load(Ordering::SeqCst);
    let spawn = |token: String| {
        let app = app.clone();
        tokio::spawn(async move { status_of(&app, &token).await })
    };

    // Five requests naming t1 at once: they wait, on one lookup.
    let waiting: Vec<_> = (0..5).map(|_| spawn(token("t1"))).collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "they wait for the lookup"
    );
    assert_eq!(asked_so_far(), 1, "one lookup for the five");
    // Another issuer's lookup (100 ms) ends meanwhile: it passes, and does not wake t1's
    // requests before their own lookup ends.
    assert_eq!(status_of(&app, &token("quick")).await, 200);
    assert!(
        waiting.iter().all(|w| !w.is_finished()),
        "still waiting for t1's"
    );
    assert_eq!(asked_so_far(), 2);
    // `Verifier::verify` cannot wait: an issuer not trusted yet is refused.
    assert_eq!(
        layer.verify(&token("t1")).unwrap_err(),
        AuthError::InvalidIssuer
    );
    open.send(true).unwrap();
    for w in waiting {
        assert_eq!(w.await.unwrap(), 200);
    }
    assert!(tenants.contains(&tenant("t1")));
    assert_eq!(status_of(&app, &token("t1")).await, 200);
    assert_eq!(asked_so_far(), 2, "trusted now: not asked again");
    // `verify_async` waits, as the layer does.
    let verified = layer.verifier().verify_async(&token("t2")).await.unwrap();
    assert_eq!(verified.claims()["iss"], tenant("t2"));

    // Not onboarded: refused, not kept, asked again next time.
    let before = asked_so_far();
    assert_eq!(status_of(&app, &token("t9")).await, 401);
    assert_eq!(status_of(&app, &token("t9")).await, 401);
    assert_eq!(asked_so_far(), before + 2);
    assert!(!tenants.contains(&tenant("t9")));

    // The timeout, 300 ms: a lookup of 100 ms was waited for (above); one of 600 ms is not.
    let start = Instant::now();
    assert_eq!(status_of(&app, &token("slow")).await, 401);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(600),
        "refused at the timeout: {waited:?}"
    );
    assert!(!tenants.contains(&tenant("slow")));

    // A flood of made-up issuers: 32 lookups run; the 33rd issuer is refused at once, and
    // a trusted issuer passes meanwhile.
    let flood_requests: Vec<_> = (0..32)
        .map(|i| spawn(token(&format!("flood-{i}"))))
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let start = Instant::now();
    assert_eq!(status_of(&app, &token("flood-33")).await, 401);
    assert!(
        start.elapsed() < Duration::from_millis(200),
        "refused at once"
    );
    assert_eq!(status_of(&app, &token("t1")).await, 200);
    for w in flood_requests {
        assert_eq!(w.await.unwrap(), 401, "refused at the timeout");
    }
    drop(flood);
}
