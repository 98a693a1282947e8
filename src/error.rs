//! Why a request was rejected ([`AuthError`]) and why a layer could not be built ([`ConfigError`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

use crate::Algorithm;

/// The largest leeway `build()` accepts ([`ConfigError::LeewayTooLarge`] beyond it). Stores
/// that remember tokens keep them this much longer than their `exp`.
pub(crate) const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// Why a request was rejected.
///
/// Each variant maps to one RFC 6750 §3 answer ([`status`](Self::status),
/// [`error_code`](Self::error_code), [`description`](Self::description)) and to one
/// stable label for logs and metrics ([`reason`](Self::reason)). Descriptions are fixed
/// strings: they never contain any part of the token or of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthError {
    /// No token was sent (401, no error code, as RFC 6750 §3.1 asks).
    MissingToken,
    /// A token was sent in more than one place, or the same header came twice (400).
    MultipleTokens,
    /// The `Authorization: Bearer` header or another token source is malformed (400).
    MalformedRequest,
    /// The token is longer than the configured maximum (401).
    TokenTooLarge,
    /// The token is not a well-formed compact JWS: segments, base64url or JSON (401).
    MalformedToken,
    /// The token's `alg` is `none`, in any spelling (401).
    AlgorithmNone,
    /// The token's `alg` is not on the allow-list (401).
    AlgorithmNotAllowed,
    /// The token's header carries a key or a key URL (`jwk`, `jku`, `x5u`, `x5c`) (401).
    EmbeddedKey,
    /// The token's header has a `crit` member: no extension is understood (401).
    CriticalHeader,
    /// The token uses an unsupported JWS feature: `b64: false` or a nested JWT (401).
    UnsupportedHeader,
    /// No configured key matches the token's `kid` and `alg` (401).
    UnknownKey,
    /// The signature does not verify (401).
    InvalidSignature,
    /// A claim has the wrong JSON type or range, or the claims do not fit the claims type (401).
    InvalidClaims,
    /// A required claim is absent (401).
    MissingClaim,
    /// The token has expired (`exp`) (401).
    Expired,
    /// The token is not valid yet (`nbf`) (401).
    NotYetValid,
    /// The token's issuer (`iss`) is not accepted (401).
    InvalidIssuer,
    /// The token's audience (`aud`) is not accepted (401).
    InvalidAudience,
    /// Remote keys have not been fetched yet (503 with `Retry-After`; gRPC `UNAVAILABLE`).
    KeysUnavailable,
    /// The token's `typ` is not the required one (a refresh token used as an access token,
    /// say) (401).
    InvalidType,
    /// The token was issued (`iat`) longer ago than the configured maximum age (401).
    TooOld,
    /// The token's lifetime (`exp - iat`) is longer than the configured maximum (401).
    LifetimeTooLong,
    /// The token was revoked: by its `jti`, its session (`sid`), or a "log out everywhere"
    /// of its subject (401).
    Revoked,
    /// The revocation store could not be asked and the layer fails closed (503 with
    /// `Retry-After`; gRPC `UNAVAILABLE`). See [`OnStoreError`](crate::revocation::OnStoreError).
    RevocationUnavailable,
    /// The token is valid but does not grant what the route requires (403 with
    /// `error="insufficient_scope"`; gRPC `PERMISSION_DENIED`).
    InsufficientScope,
    /// The token is valid, but its user authenticated too weakly (`acr`) or too long ago
    /// (`auth_time`) for the route (401 with `error="insufficient_user_authentication"` and
    /// what would do, RFC 9470 §3; gRPC `UNAUTHENTICATED`).
    InsufficientUserAuthentication,
    /// The request uses the `DPoP` scheme but sent no `DPoP` proof (401 `invalid_dpop_proof`).
    DpopProofMissing,
    /// More than one `DPoP` header was sent (401 `invalid_dpop_proof`; RFC 9449 §4.3, check 1).
    MultipleDpopProofs,
    /// The `DPoP` proof is longer than the configured maximum (401 `invalid_dpop_proof`).
    DpopProofTooLarge,
    /// The `DPoP` proof is not a well-formed JWT, or a claim is missing or of the wrong type (401 `invalid_dpop_proof`).
    DpopProofMalformed,
    /// The `DPoP` proof's `typ` is not `dpop+jwt` (401 `invalid_dpop_proof`).
    DpopProofType,
    /// The `DPoP` proof's `alg` is `none`, symmetric, or not on the allow-list (401 `invalid_dpop_proof`).
    DpopProofAlgorithm,
    /// The `DPoP` proof's `jwk` is not a public key fit for its `alg`: it holds a private part, is symmetric, too short, or malformed (401 `invalid_dpop_proof`).
    DpopProofKey,
    /// The `DPoP` proof's signature does not verify with its `jwk` (401 `invalid_dpop_proof`).
    DpopProofSignature,
    /// The `DPoP` proof's `htm` or `htu` is not this request's method or URL (401 `invalid_dpop_proof`).
    DpopProofMismatch,
    /// The `DPoP` proof's `iat` is outside the accepted window (401 `invalid_dpop_proof`).
    DpopProofStale,
    /// The `DPoP` proof's `jti` was seen before (401 `invalid_dpop_proof`).
    DpopProofReplayed,
    /// The `DPoP` proof's `ath` is missing or is not the hash of this access token (401 `invalid_dpop_proof`).
    DpopProofTokenHash,
    /// The `DPoP` proof is not signed by the key the token is bound to (`cnf.jkt`) (401 `invalid_dpop_proof`).
    DpopKeyMismatch,
    /// The `DPoP` proof lacks the server's current nonce (401 `use_dpop_nonce`, with a `DPoP-Nonce` header).
    DpopNonceRequired,
    /// A token sent with the `DPoP` scheme is not DPoP-bound (no `cnf.jkt`) (401 `invalid_token`).
    DpopTokenNotBound,
    /// A DPoP-bound token (one with `cnf`) was sent as a plain bearer token (401 `invalid_token`).
    BoundTokenAsBearer,
    /// A bearer token was sent where only DPoP-bound tokens are accepted (401 `invalid_token`).
    DpopRequired,
    /// The `DPoP` replay cache is full or cannot be reached, and the proof cannot be checked for reuse (503 with `Retry-After`; gRPC `UNAVAILABLE`).
    DpopReplayUnavailable,
    /// The token is bound to a client certificate (`cnf.x5t#S256`, RFC 8705), and the
    /// request's connection presented none (401 `invalid_token`).
    CertificateMissing,
    /// The token is bound to a client certificate other than the one the request's
    /// connection presented (401 `invalid_token`; RFC 8705 §3).
    CertificateMismatch,
    /// The authorization server's introspection endpoint says the token is not active:
    /// revoked, expired, or never issued (401 `invalid_token`; RFC 7662 §2.2).
    InactiveToken,
    /// The token must be introspected and the authorization server could not be asked, or
    /// its answer could not be read (503 with `Retry-After`; gRPC `UNAVAILABLE`).
    IntrospectionUnavailable,
}

/// The `error` code of RFC 6750 §3.1 (or RFC 9449 §7.1) that a rejection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: 400.
    InvalidRequest,
    /// `invalid_token`: 401.
    InvalidToken,
    /// `insufficient_scope`: 403.
    InsufficientScope,
    /// `insufficient_user_authentication` (RFC 9470 §3): 401, with the `acr_values` and
    /// `max_age` that would do.
    InsufficientUserAuthentication,
    /// `invalid_dpop_proof` (RFC 9449 §7.1): 401, with the `DPoP` scheme.
    InvalidDpopProof,
    /// `use_dpop_nonce` (RFC 9449 §8, §9): 401, with the `DPoP` scheme and a `DPoP-Nonce`.
    UseDpopNonce,
}

impl ErrorCode {
    /// The code as it appears in `WWW-Authenticate`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InsufficientUserAuthentication => "insufficient_user_authentication",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl AuthError {
    /// Whether the rejection is about DPoP, so that its challenge uses the `DPoP` scheme.
    pub(crate) fn is_dpop(self) -> bool {
        matches!(
            self.error_code(),
            Some(ErrorCode::InvalidDpopProof | ErrorCode::UseDpopNonce)
        ) || matches!(
            self,
            AuthError::DpopTokenNotBound
                | AuthError::DpopRequired
                | AuthError::DpopReplayUnavailable
        )
    }

    /// Every variant, in declaration order (tables indexed by `self as usize` rely on it).
    pub(crate) const ALL: [AuthError; 48] = [
        AuthError::MissingToken,
        AuthError::MultipleTokens,
        AuthError::MalformedRequest,
        AuthError::TokenTooLarge,
        AuthError::MalformedToken,
        AuthError::AlgorithmNone,
        AuthError::AlgorithmNotAllowed,
        AuthError::EmbeddedKey,
        AuthError::CriticalHeader,
        AuthError::UnsupportedHeader,
        AuthError::UnknownKey,
        AuthError::InvalidSignature,
        AuthError::InvalidClaims,
        AuthError::MissingClaim,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::InvalidIssuer,
        AuthError::InvalidAudience,
        AuthError::KeysUnavailable,
        AuthError::InvalidType,
        AuthError::TooOld,
        AuthError::LifetimeTooLong,
        AuthError::Revoked,
        AuthError::RevocationUnavailable,
        AuthError::InsufficientScope,
        AuthError::InsufficientUserAuthentication,
        AuthError::DpopProofMissing,
        AuthError::MultipleDpopProofs,
        AuthError::DpopProofTooLarge,
        AuthError::DpopProofMalformed,
        AuthError::DpopProofType,
        AuthError::DpopProofAlgorithm,
        AuthError::DpopProofKey,
        AuthError::DpopProofSignature,
        AuthError::DpopProofMismatch,
        AuthError::DpopProofStale,
        AuthError::DpopProofReplayed,
        AuthError::DpopProofTokenHash,
        AuthError::DpopKeyMismatch,
        AuthError::DpopNonceRequired,
        AuthError::DpopTokenNotBound,
        AuthError::BoundTokenAsBearer,
        AuthError::DpopRequired,
        AuthError::DpopReplayUnavailable,
        AuthError::CertificateMissing,
        AuthError::CertificateMismatch,
        AuthError::InactiveToken,
        AuthError::IntrospectionUnavailable,
    ];

    /// The RFC 6750 error code, or `None` when no token was sent.
    pub fn error_code(self) -> Option<ErrorCode> {
        match self {
            AuthError::MissingToken
            | AuthError::KeysUnavailable
            | AuthError::RevocationUnavailable
            | AuthError::DpopReplayUnavailable
            | AuthError::IntrospectionUnavailable => None,
            AuthError::MultipleTokens | AuthError::MalformedRequest => {
                Some(ErrorCode::InvalidRequest)
            }
            AuthError::InsufficientScope => Some(ErrorCode::InsufficientScope),
            AuthError::InsufficientUserAuthentication => {
                Some(ErrorCode::InsufficientUserAuthentication)
            }
            AuthError::DpopNonceRequired => Some(ErrorCode::UseDpopNonce),
            AuthError::DpopProofMissing
            | AuthError::MultipleDpopProofs
            | AuthError::DpopProofTooLarge
            | AuthError::DpopProofMalformed
            | AuthError::DpopProofType
            | AuthError::DpopProofAlgorithm
            | AuthError::DpopProofKey
            | AuthError::DpopProofSignature
            | AuthError::DpopProofMismatch
            | AuthError::DpopProofStale
            | AuthError::DpopProofReplayed
            | AuthError::DpopProofTokenHash
            | AuthError::DpopKeyMismatch => Some(ErrorCode::InvalidDpopProof),
            _ => Some(ErrorCode::InvalidToken),
        }
    }

    /// The HTTP status of the rejection.
    pub fn status(self) -> StatusCode {
        if self.is_unavailable() {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        match self.error_code() {
            Some(ErrorCode::InvalidRequest) => StatusCode::BAD_REQUEST,
            Some(ErrorCode::InsufficientScope) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// Whether the rejection is a route's requirement (`Require`, `Authorized`), not the
    /// layer's: the token is valid.
    pub(crate) fn is_authorization(self) -> bool {
        matches!(
            self,
            AuthError::InsufficientScope | AuthError::InsufficientUserAuthentication
        )
    }

    /// Whether the server, not the client, is at fault (keys or revocation store not
    /// reachable): answered with 503 and `Retry-After`, or gRPC `UNAVAILABLE`.
    pub(crate) fn is_unavailable(self) -> bool {
        matches!(
            self,
            AuthError::KeysUnavailable
                | AuthError::RevocationUnavailable
                | AuthError::DpopReplayUnavailable
                | AuthError::IntrospectionUnavailable
        )
    }

    /// The gRPC status code of the answer: `UNAVAILABLE` (14) when the client may retry,
    /// `PERMISSION_DENIED` (7) for a missing grant, else `UNAUTHENTICATED` (16).
    pub(crate) fn grpc_code(self) -> i32 {
        if self.is_unavailable() {
            14
        } else if self == AuthError::InsufficientScope {
            7
        } else {
            16
        }
    }

    /// A short, fixed description, safe to show to the client (`error_description`).
    pub fn description(self) -> &'static str {
        match self {
            AuthError::MissingToken => "no bearer token was sent",
            AuthError::MultipleTokens => "the token was sent more than once",
            AuthError::MalformedRequest => "the bearer token is not well formed",
            AuthError::TokenTooLarge => "the token is too large",
            AuthError::MalformedToken => "the token is not a well-formed JWT",
            AuthError::AlgorithmNone => "unsigned tokens are not accepted",
            AuthError::AlgorithmNotAllowed => "the token algorithm is not accepted",
            AuthError::EmbeddedKey => "keys carried by the token are not trusted",
            AuthError::CriticalHeader => "the token has critical header parameters",
            AuthError::UnsupportedHeader => "the token uses an unsupported JWS feature",
            AuthError::UnknownKey => "no key matches the token",
            AuthError::InvalidSignature => "the token signature is invalid",
            AuthError::InvalidClaims => "the token claims are invalid",
            AuthError::MissingClaim => "the token lacks a required claim",
            AuthError::Expired => "the token has expired",
            AuthError::NotYetValid => "the token is not valid yet",
            AuthError::InvalidIssuer => "the token issuer is not accepted",
            AuthError::InvalidAudience => "the token audience is not accepted",
            AuthError::KeysUnavailable => "the verification keys are not available yet",
            AuthError::InvalidType => "the token type is not accepted",
            AuthError::TooOld => "the token is too old",
            AuthError::LifetimeTooLong => "the token lifetime is too long",
            AuthError::Revoked => "the token has been revoked",
            AuthError::RevocationUnavailable => "the token revocation status cannot be checked",
            AuthError::InsufficientScope => "the token does not grant access to this resource",
            AuthError::InsufficientUserAuthentication => {
                "a stronger or more recent authentication is required"
            }
            AuthError::DpopProofMissing => "no DPoP proof was sent",
            AuthError::MultipleDpopProofs => "more than one DPoP proof was sent",
            AuthError::DpopProofTooLarge => "the DPoP proof is too large",
            AuthError::DpopProofMalformed => "the DPoP proof is not a well-formed JWT",
            AuthError::DpopProofType => "the DPoP proof type is not dpop+jwt",
            AuthError::DpopProofAlgorithm => "the DPoP proof algorithm is not accepted",
            AuthError::DpopProofKey => "the DPoP proof key is not an acceptable public key",
            AuthError::DpopProofSignature => "the DPoP proof signature is invalid",
            AuthError::DpopProofMismatch => "the DPoP proof is for another method or URL",
            AuthError::DpopProofStale => "the DPoP proof is too old or from the future",
            AuthError::DpopProofReplayed => "the DPoP proof was already used",
            AuthError::DpopProofTokenHash => "the DPoP proof is not bound to this access token",
            AuthError::DpopKeyMismatch => "the DPoP proof key is not the token's key",
            AuthError::DpopNonceRequired => "a fresh DPoP nonce is required",
            AuthError::DpopTokenNotBound => "the token is not DPoP-bound",
            AuthError::BoundTokenAsBearer => "a DPoP-bound token was sent as a bearer token",
            AuthError::DpopRequired => "only DPoP-bound tokens are accepted",
            AuthError::DpopReplayUnavailable => "the DPoP proof cannot be checked for reuse",
            AuthError::CertificateMissing => {
                "the token is bound to a client certificate and none was presented"
            }
            AuthError::CertificateMismatch => "the token is bound to another client certificate",
            AuthError::InactiveToken => "the token is not active",
            AuthError::IntrospectionUnavailable => "the token cannot be introspected now",
        }
    }

    /// A stable label for logs and metrics, e.g. `"expired"`.
    pub fn reason(self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::MultipleTokens => "multiple_tokens",
            AuthError::MalformedRequest => "malformed_request",
            AuthError::TokenTooLarge => "token_too_large",
            AuthError::MalformedToken => "malformed_token",
            AuthError::AlgorithmNone => "alg_none",
            AuthError::AlgorithmNotAllowed => "algorithm_not_allowed",
            AuthError::EmbeddedKey => "embedded_key",
            AuthError::CriticalHeader => "critical_header",
            AuthError::UnsupportedHeader => "unsupported_header",
            AuthError::UnknownKey => "unknown_key",
            AuthError::InvalidSignature => "invalid_signature",
            AuthError::InvalidClaims => "invalid_claims",
            AuthError::MissingClaim => "missing_claim",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::InvalidIssuer => "invalid_issuer",
            AuthError::InvalidAudience => "invalid_audience",
            AuthError::KeysUnavailable => "keys_unavailable",
            AuthError::InvalidType => "invalid_type",
            AuthError::TooOld => "too_old",
            AuthError::LifetimeTooLong => "lifetime_too_long",
            AuthError::Revoked => "revoked",
            AuthError::RevocationUnavailable => "revocation_unavailable",
            AuthError::InsufficientScope => "insufficient_scope",
            AuthError::InsufficientUserAuthentication => "insufficient_user_authentication",
            AuthError::DpopProofMissing => "dpop_proof_missing",
            AuthError::MultipleDpopProofs => "dpop_multiple_proofs",
            AuthError::DpopProofTooLarge => "dpop_proof_too_large",
            AuthError::DpopProofMalformed => "dpop_proof_malformed",
            AuthError::DpopProofType => "dpop_proof_type",
            AuthError::DpopProofAlgorithm => "dpop_proof_algorithm",
            AuthError::DpopProofKey => "dpop_proof_key",
            AuthError::DpopProofSignature => "dpop_proof_signature",
            AuthError::DpopProofMismatch => "dpop_proof_mismatch",
            AuthError::DpopProofStale => "dpop_proof_stale",
            AuthError::DpopProofReplayed => "dpop_proof_replayed",
            AuthError::DpopProofTokenHash => "dpop_proof_token_hash",
            AuthError::DpopKeyMismatch => "dpop_key_mismatch",
            AuthError::DpopNonceRequired => "dpop_nonce_required",
            AuthError::DpopTokenNotBound => "dpop_token_not_bound",
            AuthError::BoundTokenAsBearer => "bound_token_as_bearer",
            AuthError::DpopRequired => "dpop_required",
            AuthError::DpopReplayUnavailable => "dpop_replay_unavailable",
            AuthError::CertificateMissing => "certificate_missing",
            AuthError::CertificateMismatch => "certificate_mismatch",
            AuthError::InactiveToken => "inactive_token",
            AuthError::IntrospectionUnavailable => "introspection_unavailable",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for AuthError {}

/// Why [`build`](crate::JwtAuthBuilder::build) refused the configuration.
///
/// Each message says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Neither crypto backend is available and no provider was installed.
    NoCryptoProvider,
    /// No key was configured.
    NoKeys,
    /// A key was given for an algorithm of another family (an RSA key for HS256, say).
    KeyFamilyMismatch {
        /// The algorithm the key was given for.
        algorithm: Algorithm,
    },
    /// A key's algorithm is not on the allow-list set with `algorithms(..)`.
    AlgorithmNotAllowed {
        /// The key's algorithm.
        algorithm: Algorithm,
    },
    /// A JWK names no algorithm and none of the allowed algorithms fits its type.
    JwkWithoutAlgorithm {
        /// The JWK's `kid`, if any.
        kid: Option<String>,
    },
    /// An HMAC secret is shorter than its hash output (RFC 7518 §3.2).
    WeakHmacSecret {
        /// The algorithm the secret was given for.
        algorithm: Algorithm,
        /// The shortest secret accepted for it.
        min_bytes: usize,
    },
    /// A key could not be read (PEM, DER, JWK or JWKS); the parser's own error, if any, is
    /// this error's [`source`](std::error::Error::source).
    InvalidKey(KeyError),
    /// Two keys share a `kid`.
    DuplicateKid(String),
    /// The leeway is above the allowed maximum.
    LeewayTooLarge {
        /// The leeway asked for, in seconds.
        seconds: u64,
    },
    /// An issuer or audience is empty.
    EmptyClaimValue(&'static str),
    /// No token source was configured.
    NoTokenSources,
    /// A token source names an invalid cookie, header or query parameter.
    InvalidTokenSource(String),
    /// The realm contains characters that cannot appear in a quoted string.
    InvalidRealm,
    /// The maximum token size is too small to hold any JWT.
    MaxTokenSizeTooSmall,
    /// Remote keys (or introspection) need a Tokio runtime to run in, and `build()` ran
    /// outside one.
    NoTokioRuntime,
    /// An [`Introspection`](crate::introspection::Introspection) option is out of range;
    /// the message says which.
    Introspection(String),
    /// An RSA key is shorter than 2048 bits.
    WeakRsaKey {
        /// The size of its modulus.
        bits: usize,
    },
    /// A JWKS or issuer URL cannot be parsed.
    InvalidUrl(String),
    /// A JWKS or issuer URL is plain `http://` on a host other than loopback, and
    /// [`JwksOptions::allow_http`](crate::jwks::JwksOptions::allow_http) is not set.
    InsecureUrl(String),
    /// A claim path (`scopes_from`, `roles_from`) is not a JSON pointer, or names a
    /// variable without a value.
    InvalidClaimPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// The token cache was given room for no token.
    EmptyTokenCache,
    /// A [`TokenIssuer`](crate::issue::TokenIssuer) was given a lifetime under one second.
    NoExpiry,
    /// A required scope is empty or has a character a scope cannot have (a space, `"`,
    /// `\`, or one outside printable ASCII; RFC 6749 §3.3).
    InvalidScope(String),
    /// A step-up requirement's `acr` value is empty or has a character it cannot have in
    /// the `acr_values` answer (a space, `"`, `\`, or one outside printable ASCII).
    InvalidAcrValue(String),
    /// The protected resource metadata (RFC 9728) cannot be published as given.
    InvalidResourceMetadata(String),
    /// The DPoP options (RFC 9449) are inconsistent.
    InvalidDpopOptions(String),
    /// Two trusted issuers (issuer policies, OpenID issuers) name the same `iss`: a token
    /// could not be routed to one policy.
    DuplicateIssuer(String),
    /// A [`TrustedIssuers`](crate::tenant::TrustedIssuers) registry was given to a second
    /// layer: it serves one.
    RegistryInUse,
    /// The key client's proxy is an `https://` URL: the `CONNECT` request and its
    /// `Proxy-Authorization` would travel over plain TCP, so it is refused.
    InsecureProxy(String),
    /// A configuration ([`AuthConfig`](crate::config::AuthConfig)) names an environment
    /// variable for a secret, and it is unset (or not UTF-8).
    MissingSecret {
        /// The variable's name.
        variable: String,
    },
    /// A configuration ([`AuthConfig`](crate::config::AuthConfig)) cannot be turned into a
    /// layer: a key or an issuer described by none or several of its forms, a file that
    /// cannot be read, an option whose feature is off.
    InvalidConfig(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoCryptoProvider => f.write_str(
                "no crypto provider for jsonwebtoken: enable the `aws-lc-rs` or `rust-crypto` \
                 feature of tower-jwt-auth, or call \
                 jsonwebtoken::crypto::CryptoProvider::install_default() before building the layer",
            ),
            ConfigError::NoKeys => f.write_str(
                "no verification key configured: add one with `key(..)`, `hmac_secret(..)`, \
                 `public_key_pem(..)`, `jwk(..)` or `jwks(..)`",
            ),
            ConfigError::KeyFamilyMismatch { algorithm } => write!(
                f,
                "the key given for {algorithm:?} belongs to another algorithm family: \
                 an HMAC secret serves HS*, an RSA key RS*/PS*, an EC key ES*, an Ed25519 key EdDSA"
            ),
            ConfigError::AlgorithmNotAllowed { algorithm } => write!(
                f,
                "a key is configured for {algorithm:?}, which is not in `algorithms(..)`: \
                 add it to the allow-list or remove the key"
            ),
            ConfigError::JwkWithoutAlgorithm { kid } => write!(
                f,
                "the JWK {} has no `alg` and none of the allowed algorithms fits its key type: \
                 list its algorithm in `algorithms(..)`",
                kid.as_deref().map_or("without kid".to_owned(), |k| format!("kid={k:?}"))
            ),
            ConfigError::WeakHmacSecret {
                algorithm,
                min_bytes,
            } => write!(
                f,
                "the HMAC secret for {algorithm:?} is too short: use at least {min_bytes} random bytes \
                 (RFC 7518 §3.2), or an asymmetric algorithm"
            ),
            ConfigError::InvalidKey(why) => write!(f, "invalid key: {why}"),
            ConfigError::DuplicateKid(kid) => {
                write!(f, "two keys have the kid {kid:?}: each kid must be unique")
            }
            ConfigError::LeewayTooLarge { seconds } => write!(
                f,
                "a leeway of {seconds} s is too large (at most {} s): clocks should be synchronised instead",
                MAX_LEEWAY.as_secs()
            ),
            ConfigError::EmptyClaimValue(claim) => {
                write!(f, "an empty {claim} was configured: give a non-empty value")
            }
            ConfigError::NoTokenSources => {
                f.write_str("no token source configured: give at least one to `token_sources(..)`")
            }
            ConfigError::InvalidTokenSource(why) => write!(f, "invalid token source: {why}"),
            ConfigError::InvalidRealm => f.write_str(
                "the realm must be printable ASCII without `\"` or `\\` (it is sent in a quoted string)",
            ),
            ConfigError::MaxTokenSizeTooSmall => {
                f.write_str("the maximum token size must be at least 16 bytes")
            }
            ConfigError::NoTokioRuntime => f.write_str(
                "remote keys (jwks_url, oidc_issuer) and introspection run as background tasks: \
                 call build() inside a Tokio runtime (in `#[tokio::main]`, say)",
            ),
            ConfigError::Introspection(why) => write!(f, "introspection: {why}"),
            ConfigError::WeakRsaKey { bits } => write!(
                f,
                "the RSA key has {bits} bits: at least 2048 are required (RFC 7518 §3.3); \
                 shorter keys can be factored"
            ),
            ConfigError::InvalidClaimPath { path, why } => {
                write!(f, "the claim path {path:?} is invalid: {why}")
            }
            ConfigError::InvalidUrl(url) => write!(f, "{url:?} is not a valid absolute http(s) URL"),
            ConfigError::InsecureUrl(url) => write!(
                f,
                "{url:?} is plain http on a host other than loopback: what travels without TLS \
                 can be read and replaced on the way; use https (for a key server inside a \
                 network you trust, JwksOptions::allow_http allows http)"
            ),
            ConfigError::DuplicateIssuer(iss) => write!(
                f,
                "the issuer {iss:?} is trusted twice: give each issuer one policy, and name \
                 its other `iss` forms with IssuerPolicy::also_named"
            ),
            ConfigError::RegistryInUse => f.write_str(
                "this TrustedIssuers registry already serves another layer: make one per layer",
            ),
            ConfigError::InsecureProxy(why) => write!(
                f,
                "{why}: the CONNECT request and its Proxy-Authorization would cross in \
                 cleartext; give the proxy as http://host:port (the tunnel to the key server \
                 is TLS either way)"
            ),
            ConfigError::MissingSecret { variable } => write!(
                f,
                "the environment variable {variable} holds no secret: set it (the \
                 configuration names the variable, never the secret itself)"
            ),
            ConfigError::InvalidConfig(why) => write!(f, "invalid configuration: {why}"),
            ConfigError::NoExpiry => f.write_str(
                "a token issuer needs a lifetime of at least one second: tokens without expiry are never minted",
            ),
            ConfigError::InvalidScope(scope) => write!(
                f,
                "{scope:?} is not a valid scope: a scope is non-empty printable ASCII without \
                 spaces, `\"` or `\\` (RFC 6749 §3.3); require several scopes with `scopes([..])`"
            ),
            ConfigError::InvalidAcrValue(acr) => write!(
                f,
                "{acr:?} cannot be an acr value: it must be non-empty printable ASCII without \
                 spaces, `\"` or `\\` to be named in `acr_values` (RFC 9470 §3); give several \
                 values as several items of `acr_values([..])`"
            ),
            ConfigError::InvalidDpopOptions(why) => write!(f, "invalid DPoP options: {why}"),
            ConfigError::InvalidResourceMetadata(why) => {
                write!(f, "invalid protected resource metadata: {why}")
            }
            ConfigError::EmptyTokenCache => f.write_str(
                "a token cache needs room for at least one token: give a positive size, \
                 or do not call `token_cache(..)`",
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::InvalidKey(key) => std::error::Error::source(key),
            _ => None,
        }
    }
}

impl ConfigError {
    /// A key that cannot be used, for a reason of ours.
    pub(crate) fn invalid_key(what: impl Into<String>) -> Self {
        ConfigError::InvalidKey(KeyError {
            what: what.into(),
            source: None,
        })
    }

    /// A key its parser refused: `what` says which key, `source` why.
    pub(crate) fn unreadable_key(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ConfigError::InvalidKey(KeyError {
            what: what.into(),
            source: Some(Arc::new(source)),
        })
    }
}

/// Why a key could not be read ([`ConfigError::InvalidKey`]): which key, and what is wrong
/// with it. When a parser refused it (PEM, DER, JSON, jsonwebtoken), the parser's error is
/// the [`source`](std::error::Error::source), and the message says which key it was.
#[derive(Debug, Clone)]
pub struct KeyError {
    what: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl KeyError {
    /// Which key, and what is wrong with it (without the parser's own words: those are the
    /// source's).
    pub fn message(&self) -> &str {
        &self.what
    }
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Two key errors are equal when they say the same: the parsers' errors are not comparable.
impl PartialEq for KeyError {
    fn eq(&self, other: &Self) -> bool {
        self.what == other.what
    }
}

impl Eq for KeyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_variant_in_order() {
        for (i, e) in AuthError::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i, "{e:?} is out of place in ALL");
        }
    }

    #[test]
    fn descriptions_fit_a_quoted_string_and_grpc_message() {
        // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
        for e in AuthError::ALL {
            for b in e.description().bytes() {
                assert!(
                    (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\',
                    "{e:?} has a byte not allowed in error_description"
                );
            }
        }
    }

    #[test]
    fn only_request_errors_are_400() {
        assert_eq!(AuthError::MissingToken.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(AuthError::MissingToken.error_code(), None);
        assert_eq!(AuthError::MultipleTokens.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            AuthError::MalformedRequest.status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(AuthError::Expired.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            AuthError::Expired.error_code(),
            Some(ErrorCode::InvalidToken)
        );
        assert_eq!(AuthError::Revoked.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(AuthError::InsufficientScope.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            AuthError::InsufficientScope.error_code(),
            Some(ErrorCode::InsufficientScope)
        );
        assert_eq!(AuthError::InactiveToken.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            AuthError::InactiveToken.error_code(),
            Some(ErrorCode::InvalidToken)
        );
        for unavailable in [
            AuthError::KeysUnavailable,
            AuthError::RevocationUnavailable,
            AuthError::IntrospectionUnavailable,
        ] {
            assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(unavailable.error_code(), None);
        }
    }
}
