//! `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7), read just enough to take the bare key out of
//! it: `public_key_der` takes either, and jsonwebtoken's DER constructors the bare one.

use jsonwebtoken::AlgorithmFamily;

/// `rsaEncryption` (RFC 8017 §A.1).
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// `id-ecPublicKey` (RFC 5480 §2.1.1).
const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// `id-Ed25519` (RFC 8410 §3).
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

/// The bare key of `der`: the key inside a `SubjectPublicKeyInfo` whose algorithm fits
/// `family`, or `der` itself when it is not one.
pub(crate) fn key_of(der: &[u8], family: AlgorithmFamily) -> Result<&[u8], &'static str> {
    // A `SubjectPublicKeyInfo` is a SEQUENCE that starts with a SEQUENCE (the algorithm);
    // an `RSAPublicKey` is a SEQUENCE that starts with an INTEGER; EC points and Ed25519
    // keys are not SEQUENCEs.
    let Some((0x30, info)) = element(der) else {
        return Ok(der);
    };
    let Some((0x30, algorithm)) = element(info) else {
        return Ok(der);
    };
    let rest =
        &info[header_len(info).ok_or("a malformed SubjectPublicKeyInfo")? + algorithm.len()..];
    let (tag, oid) = element(algorithm).ok_or("a malformed algorithm identifier")?;
    let fits = tag == 0x06
        && match family {
            AlgorithmFamily::Rsa => oid == RSA,
            AlgorithmFamily::Ec => oid == EC,
            AlgorithmFamily::Ed => oid == ED25519,
            AlgorithmFamily::Hmac => false,
        };
    if !fits {
        return Err("the SubjectPublicKeyInfo is for another kind of key than the algorithm");
    }
    match element(rest) {
        // A BIT STRING with no unused bits.
        Some((0x03, [0, key @ ..])) => Ok(key),
        _ => Err("a malformed SubjectPublicKeyInfo key"),
    }
}

/// The tag and the contents of the DER element `der` starts with.
fn element(der: &[u8]) -> Option<(u8, &[u8])> {
    let header = header_len(der)?;
    let len = content_len(der)?;
    Some((der[0], der.get(header..header.checked_add(len)?)?))
}

fn header_len(der: &[u8]) -> Option<usize> {
    match *der.get(1)? {
        short if short < 0x80 => Some(2),
        long => Some(2 + usize::from(long & 0x7f)),
    }
}

fn content_len(der: &[u8]) -> Option<usize> {
    match *der.get(1)? {
        short if short < 0x80 => Some(usize::from(short)),
        long => {
            let n = usize::from(long & 0x7f);
            if n == 0 || n > 4 {
                return None;
            }
            der.get(2..2 + n)?.iter().try_fold(0usize, |len, b| {
                len.checked_mul(256)?.checked_add(usize::from(*b))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    /// The DER body of a `PUBLIC KEY` PEM.
    fn spki(pem: &str) -> Vec<u8> {
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        STANDARD.decode(body).unwrap()
    }

    #[test]
    fn the_bare_key_is_taken_out_of_a_subject_public_key_info() {
        let cases = [
            (
                include_str!("../tests/data/rsa_public.pem"),
                AlgorithmFamily::Rsa,
                &include_bytes!("../tests/data/rsa_public_pkcs1.der")[..],
            ),
            (
                include_str!("../tests/data/ec_public.pem"),
                AlgorithmFamily::Ec,
                &include_bytes!("../tests/data/ec_public_point.der")[..],
            ),
            (
                include_str!("../tests/data/ed_public.pem"),
                AlgorithmFamily::Ed,
                &include_bytes!("../tests/data/ed_public_raw.der")[..],
            ),
        ];
        for (pem, family, bare) in cases {
            let der = spki(pem);
            assert_eq!(key_of(&der, family), Ok(bare), "{family:?}");
            // The bare key is taken as it is.
            assert_eq!(key_of(bare, family), Ok(bare), "{family:?}");
        }
        // A key of another family than the algorithm's.
        let ec = spki(cases[1].0);
        assert!(key_of(&ec, AlgorithmFamily::Rsa).is_err());
        // Truncated: refused or left to the key reader, never a panic.
        for cut in 0..ec.len() {
            let _ = key_of(&ec[..cut], AlgorithmFamily::Ec);
        }
    }
}
