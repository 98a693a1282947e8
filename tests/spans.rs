//! The `jwt_auth` span: one per request, with the outcome, and the subject, issuer and key id
//! of a verified token alone; the parent of what the handler logs; never the token.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{Value, json};
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::revocation::{BoxFuture, Revocation, RevocationStore, StoreError, TokenId};
use tower_jwt_auth::{Algorithm, EncodingKey, JwtAuthLayer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type Fields = BTreeMap<String, String>;

/// Every `jwt_auth` span's fields, in creation order, and the span each handler event ran in.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Seen>>);

#[derive(Default)]
struct Seen {
    order: Vec<u64>,
    fields: HashMap<u64, Fields>,
    handler_parents: Vec<Option<u64>>,
}

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() != "jwt_auth" {
            return;
        }
        let mut seen = self.0.lock().unwrap();
        let mut fields = Fields::new();
        attrs.record(&mut Visitor(&mut fields));
        seen.order.push(id.into_u64());
        seen.fields.insert(id.into_u64(), fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.0.lock().unwrap().fields.get_mut(&id.into_u64()) {
            values.record(&mut Visitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        if fields.get("message").map(String::as_str) == Some("handler ran") {
            let parent = ctx.event_span(event).map(|span| span.id().into_u64());
            self.0.lock().unwrap().handler_parents.push(parent);
        }
    }
}

impl Spans {
    fn all(&self) -> Vec<Fields> {
        let seen = self.0.lock().unwrap();
        seen.order
            .iter()
            .map(|id| seen.fields[id].clone())
            .collect()
    }
}

fn app(layer: JwtAuthLayer<Value>) -> axum::Router {
    let handler = || async {
        tracing::info!("handler ran");
        "ok"
    };
    axum::Router::new()
        .route("/", axum::routing::get(handler))
        .layer(layer)
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// One thread, so that the thread's default subscriber sees every span.
#[tokio::test(flavor = "current_thread")]
async fn each_request_has_one_span_with_its_outcome_and_a_verified_tokens_identity() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .build()
        .unwrap();
    let app = app(layer);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("key-2026".into());
    let claims = json!({ "sub": "alice", "iss": "https://id.example.com", "exp": now() + 600 });
    let valid = mint_with(&header, &claims, &EncodingKey::from_secret(SECRET).unwrap());
    let expired = mint_with(
        &header,
        &json!({ "sub": "mallory", "iss": "https://id.example.com", "exp": now() - 600 }),
        &EncodingKey::from_secret(SECRET).unwrap(),
    );

    assert_eq!(status_of(&app, &valid).await, 200);
    assert_eq!(status_of(&app, &expired).await, 401);
    assert_eq!(call(&app, "/", &[]).await.status, 401);

    let optional = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .optional(true)
        .build()
        .unwrap();
    assert_eq!(call(&self::app(optional), "/", &[]).await.status, 200);

    let all = spans.all();
    assert_eq!(
        all,
        [
            fields(&[
                ("outcome", "accepted"),
                ("jwt.sub", "alice"),
                ("jwt.iss", "https://id.example.com"),
                ("jwt.kid", "key-2026"),
            ]),
            // Nothing read from a token that did not pass: not its `sub`, not its `kid`.
            fields(&[("outcome", "rejected"), ("reason", "expired")]),
            fields(&[("outcome", "rejected"), ("reason", "missing_token")]),
            fields(&[("outcome", "anonymous")]),
        ]
    );
    for recorded in &all {
        for value in recorded.values() {
            assert!(!value.contains(&valid) && !value.contains(&expired));
        }
    }

    // The handler ran twice (the valid token, the optional layer), each time in its span.
    let seen = spans.0.lock().unwrap();
    let parents: Vec<_> = seen.handler_parents.clone();
    assert_eq!(parents, [Some(seen.order[0]), Some(seen.order[3])]);
}

/// A store with no local view: every check asks it, and it answers that `mallory`'s tokens
/// are revoked.
struct AskedEveryTime;

impl RevocationStore for AskedEveryTime {
    fn check_local(&self, _: &TokenId, _: u64) -> Option<bool> {
        None
    }

    fn check(&self, token: &TokenId, _: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        let revoked = token.sub.as_deref() == Some("mallory");
        Box::pin(std::future::ready(Ok(revoked)))
    }

    fn revoke(&self, _: Revocation) -> BoxFuture<'static, Result<(), StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn use_once(&self, _: &str, _: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        Box::pin(std::future::ready(Ok(true)))
    }
}

/// Issue #20, 15: a token that verifies but that the store then says is revoked was never
/// authenticated: its span says `rejected`, and nothing of it (no `sub`, `iss`, `kid`). A
/// token the store lets through gets its identity once the store has answered.
#[tokio::test(flavor = "current_thread")]
async fn a_token_refused_by_the_store_leaves_no_identity_in_its_span() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .revocation(AskedEveryTime)
        .build()
        .unwrap();
    let app = app(layer);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("key-2026".into());
    let key = EncodingKey::from_secret(SECRET).unwrap();
    let token = |sub: &str| {
        let claims =
            json!({ "sub": sub, "iss": "https://id.example.com", "jti": sub, "exp": now() + 600 });
        mint_with(&header, &claims, &key)
    };
    assert_eq!(status_of(&app, &token("mallory")).await, 401);
    assert_eq!(status_of(&app, &token("alice")).await, 200);
    assert_eq!(
        spans.all(),
        [
            fields(&[("outcome", "rejected"), ("reason", "revoked")]),
            fields(&[
                ("outcome", "accepted"),
                ("jwt.sub", "alice"),
                ("jwt.iss", "https://id.example.com"),
                ("jwt.kid", "key-2026"),
            ]),
        ]
    );
}
