//! A DPoP client (RFC 9449) for the axum example: it logs in with a proof of its key, gets
//! tokens bound to that key, calls `/me` with `Authorization: DPoP` and a fresh proof, shows
//! that the same token is refused as a bearer token, and refreshes with a proof.
//!
//! ```text
//! cargo run --example axum          # then, in another terminal:
//! cargo run --example dpop-client
//! ```
//!
//! `ADDR` is the server (default `127.0.0.1:3000`).

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tower_jwt_auth::jsonwebtoken::crypto::CryptoProvider;
use tower_jwt_auth::jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::{Algorithm, EncodingKey, install_crypto_provider};

/// The client's key, for the demo only. A real client makes its own and keeps it.
const CLIENT_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8/sotUjRh6MCGgbs
NxRk2QRPUX8hfy/jhRDUNdB/IKyhRANCAATh3bxo8kfcxA4qwfMQ1o9f8VlqLm8D
EBRkCTLUles/DyvveNPQahDLfkc3T2+eChN+mvqulNi98dmcnK1IhXGj
-----END PRIVATE KEY-----";

type Error = Box<dyn std::error::Error>;

/// Signs DPoP proofs with one key.
struct Prover {
    key: EncodingKey,
    jwk: Jwk,
    provider: &'static CryptoProvider,
    sent: u32,
}

impl Prover {
    /// A proof for `method url`, bound to `token` when there is one (its `ath`).
    fn proof(&mut self, method: &str, url: &str, token: Option<&str>) -> Result<String, Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        self.sent += 1;
        let mut claims = json!({
            "jti": format!("{}-{}", common::now(), self.sent),
            "htm": method,
            "htu": url,
            "iat": common::now(),
        });
        if let Some(token) = token {
            let digest =
                (self.provider.key_utils.compute_digest)(token.as_bytes(), ThumbprintHash::SHA256)?;
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(digest));
        }
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}

async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    request: http::request::Builder,
    body: Option<Value>,
) -> Result<(StatusCode, Value), Error> {
    let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
    let response = client
        .request(
            request
                .header("content-type", "application/json")
                .body(Full::new(body))?,
        )
        .await?;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a str, Error> {
    value[name]
        .as_str()
        .ok_or_else(|| format!("no {name} in {value}").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let provider = install_crypto_provider()?;
    let key = EncodingKey::from_ec_pem(CLIENT_KEY.as_bytes())?;
    let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)?;
    let mut prover = Prover {
        key,
        jwk,
        provider,
        sent: 0,
    };
    let base = format!("http://{}", common::addr("127.0.0.1:3000"));
    let client = Client::builder(TokioExecutor::new()).build_http();

    // 1. Log in with a proof: the pair is bound to this key.
    let login_url = format!("{base}/login");
    let proof = prover.proof("POST", &login_url, None)?;
    let request = Request::post(&login_url).header("dpop", proof);
    let credentials = json!({ "username": "demo", "password": "demo" });
    let (status, pair) = send(&client, request, Some(credentials)).await?;
    if status != StatusCode::OK || pair["token_type"] != "DPoP" {
        return Err(format!("login: {status} {pair}").into());
    }
    println!(
        "login with a proof:        token_type {}",
        pair["token_type"]
    );
    let token = field(&pair, "access_token")?.to_owned();

    // 2. Call with the token and a fresh proof for this request.
    let me = format!("{base}/me");
    let proof = prover.proof("GET", &me, Some(&token))?;
    let request = Request::get(&me)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof);
    let (status, body) = send(&client, request, None).await?;
    println!("GET /me with DPoP:         {status} {body}");
    if status != StatusCode::OK {
        return Err("the DPoP call was refused".into());
    }

    // 3. The same token without its proof, as a bearer token: refused.
    let request = Request::get(&me).header("authorization", format!("Bearer {token}"));
    let (status, _) = send(&client, request, None).await?;
    println!("GET /me as Bearer:         {status} (a stolen bound token is useless)");
    if status != StatusCode::UNAUTHORIZED {
        return Err("a bound token passed as a bearer token".into());
    }

    // 4. Refresh with a proof of the same key: a new bound pair.
    let refresh_url = format!("{base}/refresh");
    let proof = prover.proof("POST", &refresh_url, None)?;
    let request = Request::post(&refresh_url).header("dpop", proof);
    let body = json!({ "refresh_token": field(&pair, "refresh_token")? });
    let (status, next) = send(&client, request, Some(body)).await?;
    println!(
        "refresh with a proof:      {status} token_type {}",
        next["token_type"]
    );
    if status != StatusCode::OK || next["token_type"] != "DPoP" {
        return Err(format!("refresh: {status} {next}").into());
    }
    Ok(())
}
