//! What a [`RedisStore`](super::RedisStore) writes: a record per revocation (its key, its
//! value) and the message that announces it, and reading both back. Pure: no connection.

use super::super::Revocation;
use super::super::list::kept_until;

/// Sets `KEYS[1]` to `ARGV[1]` until `ARGV[2]`; then, unless `ARGV[3]` is empty, publishes
/// `ARGV[4]` on the channel `ARGV[3]`.
const SET_RECORD: &str = "redis.call('SET', KEYS[1], ARGV[1], 'EXAT', ARGV[2]) \
    if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end return 1";

/// Sets `KEYS[1]` to "cut-off expiry" (`ARGV[1]`, `ARGV[2]`) until `ARGV[3]`, unless it
/// holds a later cut-off; then, unless `ARGV[4]` is empty, publishes `ARGV[5]` on the
/// channel `ARGV[4]`.
const RAISE_CUT_OFF: &str = "local cur = redis.call('GET', KEYS[1]) \
    if not (cur and tonumber(string.match(cur, '^%d+')) >= tonumber(ARGV[1])) then \
    redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EXAT', ARGV[3]) end \
    if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end return 1";

/// The command that writes `revocation`'s record at `key` and, given a channel, announces
/// it there. One script: the record and its message go together, on the record's node,
/// whether Redis is one server or a cluster (where a pipeline could not hold a key and a
/// channel of two slots).
pub(super) fn write(key: &str, revocation: &Revocation, channel: Option<&str>) -> redis::Cmd {
    let (_, _, message) = encode(revocation);
    let (channel, message) = match channel {
        Some(channel) => (channel, message.as_str()),
        None => ("", ""),
    };
    let mut cmd = redis::cmd("EVAL");
    match revocation {
        Revocation::Subject {
            issued_before,
            expires_at,
            ..
        } => {
            // A later cut-off is never replaced by an earlier one.
            cmd.arg(RAISE_CUT_OFF)
                .arg(1)
                .arg(key)
                .arg(issued_before)
                .arg(expires_at)
                .arg(kept_until(*expires_at));
        }
        Revocation::Token { expires_at, .. } | Revocation::Session { expires_at, .. } => {
            cmd.arg(SET_RECORD)
                .arg(1)
                .arg(key)
                .arg(expires_at)
                .arg(kept_until(*expires_at));
        }
    }
    cmd.arg(channel).arg(message);
    cmd
}

/// The kind and id of a revocation's record, and the message that announces it: "kind
/// expiry [cut-off] id", the id last, as it may contain spaces.
pub(super) fn encode(revocation: &Revocation) -> (&'static str, String, String) {
    match revocation {
        Revocation::Token { jti, expires_at } => {
            ("jti", jti.clone(), format!("jti {expires_at} {jti}"))
        }
        Revocation::Session {
            sid,
            iss,
            expires_at,
        } => {
            let (kind, id) = scoped("sid", iss.as_deref(), sid);
            let message = format!("{kind} {expires_at} {id}");
            (kind, id, message)
        }
        Revocation::Subject {
            sub,
            iss,
            issued_before,
            expires_at,
        } => {
            let (kind, id) = scoped("sub", iss.as_deref(), sub);
            let message = format!("{kind} {expires_at} {issued_before} {id}");
            (kind, id, message)
        }
    }
}

/// The kinds of record, as they appear in keys and messages: a session or a subject scoped
/// to an issuer is an `isid` or `isub`, whose id is [`scoped`].
pub(super) const KINDS: [&str; 5] = ["jti", "sid", "sub", "isid", "isub"];

/// The kind and id of a `sid` or `sub` record: as is without an issuer; otherwise `i`
/// before the kind, and the issuer with its length before the id — "19:https://a.example"
/// then "alice" — so that neither needs escaping.
pub(super) fn scoped(kind: &'static str, iss: Option<&str>, id: &str) -> (&'static str, String) {
    match (kind, iss) {
        (_, None) => (kind, id.to_owned()),
        ("sid", Some(iss)) => ("isid", format!("{}:{iss}{id}", iss.len())),
        (_, Some(iss)) => ("isub", format!("{}:{iss}{id}", iss.len())),
    }
}

/// The issuer and the id of a [`scoped`] id.
fn unscoped(id: &str) -> Option<(String, String)> {
    let (len, rest) = id.split_once(':')?;
    let len: usize = len.parse().ok()?;
    let (iss, id) = (rest.get(..len)?, rest.get(len..)?);
    Some((iss.to_owned(), id.to_owned()))
}

/// A revocation from its kind and id, its expiry, and for a subject its cut-off.
fn revocation(kind: &str, id: &str, expires_at: u64, cut_off: Option<u64>) -> Option<Revocation> {
    let (iss, id) = match kind {
        "isid" | "isub" => {
            let (iss, id) = unscoped(id)?;
            (Some(iss), id)
        }
        _ => (None, id.to_owned()),
    };
    match (kind, cut_off) {
        ("jti", None) => Some(Revocation::Token {
            jti: id,
            expires_at,
        }),
        ("sid" | "isid", None) => Some(Revocation::Session {
            sid: id,
            iss,
            expires_at,
        }),
        ("sub" | "isub", Some(issued_before)) => Some(Revocation::Subject {
            sub: id,
            iss,
            issued_before,
            expires_at,
        }),
        _ => None,
    }
}

fn is_subject(kind: &str) -> bool {
    kind.ends_with("sub")
}

/// A revocation from its key's value: "expiry" for a `jti` or a session, "cut-off expiry"
/// for a subject.
pub(super) fn decode_value(kind: &str, id: &str, value: &str) -> Option<Revocation> {
    let mut numbers = value.split(' ').map(str::parse::<u64>);
    let first = numbers.next()?.ok()?;
    let second = numbers.next().map(Result::ok);
    match (is_subject(kind), second) {
        (false, None) => revocation(kind, id, first, None),
        (true, Some(Some(expires_at))) => revocation(kind, id, expires_at, Some(first)),
        _ => None,
    }
}

/// A revocation from a pub/sub message (see [`encode`]): "kind expiry [cut-off] id".
pub(super) fn decode_message(message: &str) -> Option<Revocation> {
    let (kind, rest) = message.split_once(' ')?;
    let (expires_at, rest) = rest.split_once(' ')?;
    let expires_at = expires_at.parse().ok()?;
    if !is_subject(kind) {
        return revocation(kind, rest, expires_at, None);
    }
    let (cut_off, id) = rest.split_once(' ')?;
    revocation(kind, id, expires_at, Some(cut_off.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_values_round_trip() {
        let scoped_to = Some("https://idp.example/realms/a b:c".to_owned());
        for revocation in [
            Revocation::Token {
                jti: "a b c".into(),
                expires_at: 100,
            },
            Revocation::Session {
                sid: "s".into(),
                iss: None,
                expires_at: 100,
            },
            Revocation::Session {
                sid: "s 1".into(),
                iss: scoped_to.clone(),
                expires_at: 100,
            },
            Revocation::Subject {
                sub: "alice smith".into(),
                iss: None,
                issued_before: 50,
                expires_at: 100,
            },
            Revocation::Subject {
                sub: "12:alice".into(),
                iss: scoped_to.clone(),
                issued_before: 50,
                expires_at: 100,
            },
        ] {
            let (kind, id, message) = encode(&revocation);
            assert_eq!(
                decode_message(&message),
                Some(revocation.clone()),
                "{message}"
            );
            // The value Redis keeps: the expiry, after the cut-off for a subject.
            let value = match &revocation {
                Revocation::Subject {
                    issued_before,
                    expires_at,
                    ..
                } => format!("{issued_before} {expires_at}"),
                Revocation::Token { expires_at, .. } | Revocation::Session { expires_at, .. } => {
                    expires_at.to_string()
                }
            };
            assert_eq!(decode_value(kind, &id, &value), Some(revocation), "{id}");
        }
        assert_eq!(
            encode(&Revocation::Subject {
                sub: "alice".into(),
                iss: Some("https://a.example".into()),
                issued_before: 50,
                expires_at: 100,
            })
            .1,
            "17:https://a.examplealice"
        );
        for bad in [
            "",
            "jti",
            "jti x a",
            "zzz 1 a",
            "sub 100 alice",
            "isub 100 50 99:short",
            "isid 100 x:a",
        ] {
            assert_eq!(decode_message(bad), None, "{bad:?}");
        }
        assert_eq!(decode_value("sid", "s", "oops"), None);
        assert_eq!(decode_value("sub", "s", "100"), None);
    }
}
