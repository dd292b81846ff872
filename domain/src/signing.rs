//! Standard Webhooks signatures over `"{id}.{timestamp}.{body}"`, one per signing secret,
//! space-separated in `webhook-signature` (several while a rotated secret is in its grace
//! period):
//! - symmetric: `v1,` + base64(HMAC-SHA256), the secret `whsec_` + base64 of its bytes;
//! - asymmetric: `v1a,` + base64(Ed25519 signature), the secret key `whsk_` + base64 of the
//!   64-byte key pair (seed, then public key, as Svix writes it), and the public key that
//!   receivers verify with `whpk_` + base64 of its 32 bytes.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, Verifier};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Prefix of a symmetric (HMAC-SHA256) secret.
pub const HMAC_PREFIX: &str = "whsec_";
/// Prefix of an Ed25519 secret (signing) key.
pub const ED25519_SECRET_PREFIX: &str = "whsk_";
/// Prefix of an Ed25519 public (verifying) key.
pub const ED25519_PUBLIC_PREFIX: &str = "whpk_";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningError {
    #[error("the signing secret is not valid base64")]
    BadSecret,
    #[error(
        "an Ed25519 secret key ('whsk_') must be base64 of 64 bytes: the 32-byte seed, then its public key"
    )]
    BadEd25519Key,
}

/// How an endpoint's deliveries are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// HMAC-SHA256 with a shared secret (`v1`).
    Hmac,
    /// Ed25519 with a key pair (`v1a`): receivers hold only the public key.
    Ed25519,
}

impl Scheme {
    /// A new secret of this scheme, as stored (and as the API accepts it).
    pub fn generate(self) -> String {
        match self {
            Scheme::Hmac => crate::crypto::generate_endpoint_secret(),
            Scheme::Ed25519 => {
                let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
                format!(
                    "{ED25519_SECRET_PREFIX}{}",
                    STANDARD.encode(key.to_keypair_bytes())
                )
            }
        }
    }

    /// The scheme of a secret as given, by its prefix (bare base64 is HMAC, as in Svix).
    pub fn of(secret: &str) -> Scheme {
        if secret.starts_with(ED25519_SECRET_PREFIX) {
            Scheme::Ed25519
        } else {
            Scheme::Hmac
        }
    }
}

/// A secret as stored: bare base64 gets its `whsec_` prefix; `whsec_` and `whsk_` stay.
pub fn normalize(secret: String) -> String {
    if secret.starts_with(HMAC_PREFIX) || secret.starts_with(ED25519_SECRET_PREFIX) {
        secret
    } else {
        format!("{HMAC_PREFIX}{secret}")
    }
}

/// What an endpoint's secret shows as, in the API and the portal: an Ed25519 key's public
/// half (`whpk_`, as Svix answers), an HMAC secret as it is. The Ed25519 secret key never
/// leaves Hookline once given.
pub fn shown(secret: String) -> String {
    match SigningKey::parse(&secret) {
        Ok(k @ SigningKey::Ed25519(_)) => k.public_key().unwrap_or(secret),
        _ => secret,
    }
}

/// One endpoint secret, ready to sign.
#[derive(Clone)]
pub enum SigningKey {
    Hmac(Vec<u8>),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // never the key itself
        match self {
            SigningKey::Hmac(_) => f.write_str("SigningKey::Hmac(***)"),
            SigningKey::Ed25519(k) => write!(f, "SigningKey::Ed25519({})", public_key_of(k)),
        }
    }
}

fn public_key_of(k: &ed25519_dalek::SigningKey) -> String {
    format!(
        "{ED25519_PUBLIC_PREFIX}{}",
        STANDARD.encode(k.verifying_key().as_bytes())
    )
}

impl SigningKey {
    /// Parses a stored or given secret: `whsec_…` or bare base64 (HMAC), `whsk_…` (Ed25519).
    pub fn parse(secret: &str) -> Result<SigningKey, SigningError> {
        let Some(b64) = secret.strip_prefix(ED25519_SECRET_PREFIX) else {
            return secret_bytes(secret).map(SigningKey::Hmac);
        };
        let bytes = STANDARD.decode(b64).map_err(|_| SigningError::BadSecret)?;
        let pair: [u8; 64] = bytes.try_into().map_err(|_| SigningError::BadEd25519Key)?;
        // checks that the public half belongs to the seed
        let key =
            ed25519_dalek::SigningKey::from_keypair_bytes(&pair).map_err(|_| SigningError::BadEd25519Key)?;
        Ok(SigningKey::Ed25519(Box::new(key)))
    }

    pub fn scheme(&self) -> Scheme {
        match self {
            SigningKey::Hmac(_) => Scheme::Hmac,
            SigningKey::Ed25519(_) => Scheme::Ed25519,
        }
    }

    /// What a receiver verifies with: the `whpk_` public key of an Ed25519 key; `None` for
    /// HMAC, whose secret is itself what the receiver holds.
    pub fn public_key(&self) -> Option<String> {
        match self {
            SigningKey::Hmac(_) => None,
            SigningKey::Ed25519(k) => Some(public_key_of(k)),
        }
    }

    /// One `v1,<base64>` or `v1a,<base64>` signature.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        match self {
            SigningKey::Hmac(key) => sign(key, msg_id, timestamp, body),
            SigningKey::Ed25519(key) => {
                let signed = signed_content(msg_id, timestamp, body);
                format!("v1a,{}", STANDARD.encode(key.sign(&signed).to_bytes()))
            }
        }
    }
}

fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(msg_id.len() + 24 + body.len());
    v.extend_from_slice(msg_id.as_bytes());
    v.push(b'.');
    v.extend_from_slice(timestamp.to_string().as_bytes());
    v.push(b'.');
    v.extend_from_slice(body);
    v
}

/// The raw key bytes of a `whsec_`-prefixed (or bare) base64 secret.
pub fn secret_bytes(secret: &str) -> Result<Vec<u8>, SigningError> {
    let b64 = secret.strip_prefix(HMAC_PREFIX).unwrap_or(secret);
    STANDARD.decode(b64).map_err(|_| SigningError::BadSecret)
}

/// One `v1,<base64>` signature.
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header value: one signature per key, space-separated.
pub fn signature_header(keys: &[SigningKey], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| k.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Receiver-side check: true when a signature in `header` matches `secret`: a `v1` one for a
/// `whsec_` secret (constant-time, through `Mac::verify_slice`), a `v1a` one for a `whpk_`
/// public key or a `whsk_` secret key.
pub fn verify(secret: &str, msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let public = if let Some(b64) = secret.strip_prefix(ED25519_PUBLIC_PREFIX) {
        let Some(bytes) = STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        else {
            return false;
        };
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()
    } else if secret.starts_with(ED25519_SECRET_PREFIX) {
        match SigningKey::parse(secret) {
            Ok(SigningKey::Ed25519(k)) => Some(k.verifying_key()),
            _ => return false,
        }
    } else {
        None
    };
    if let Some(public) = public {
        let signed = signed_content(msg_id, timestamp, body);
        return header.split(' ').any(|sig| {
            let Some(sig) = sig
                .strip_prefix("v1a,")
                .and_then(|b64| STANDARD.decode(b64).ok())
                .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok())
            else {
                return false;
            };
            public.verify(&signed, &sig).is_ok()
        });
    }
    let Ok(key) = secret_bytes(secret) else {
        return false;
    };
    header.split(' ').any(|sig| {
        let Some(b64) = sig.strip_prefix("v1,") else {
            return false;
        };
        let Ok(expected) = STANDARD.decode(b64) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC accepts any key length");
        mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

/// The Rust verification snippet the portal shows, compiled and run against real signatures
/// by the tests below.
#[cfg(test)]
#[path = "../../app/src/snippets/ed25519.rs"]
mod portal_snippet;

#[cfg(test)]
mod tests {
    use super::*;

    // The known-answer vector from the Standard Webhooks specification.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn matches_the_standard_webhooks_known_answer() {
        let key = secret_bytes(SECRET).unwrap();
        assert_eq!(
            sign(&key, ID, TS, BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verify_accepts_any_of_several_signatures_and_rejects_tampering() {
        let old = secret_bytes(SECRET).unwrap();
        let new_secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        let new = secret_bytes(new_secret).unwrap();
        let header = signature_header(&[SigningKey::Hmac(new), SigningKey::Hmac(old)], ID, TS, BODY);
        assert_eq!(header.split(' ').count(), 2);
        assert!(verify(SECRET, ID, TS, BODY, &header));
        assert!(verify(new_secret, ID, TS, BODY, &header));
        assert!(!verify(SECRET, ID, TS + 1, BODY, &header));
        assert!(!verify(SECRET, ID, TS, b"{}", &header));
    }

    #[test]
    fn bare_base64_secrets_are_accepted() {
        assert_eq!(secret_bytes(SECRET), secret_bytes(&SECRET[6..]));
        assert_eq!(secret_bytes("whsec_***"), Err(SigningError::BadSecret));
    }

    // RFC 8032, section 7.1, TEST 2: a one-byte message.
    const RFC_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
    const RFC_PUBLIC: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    const RFC_SIGNATURE: &str = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn ed25519_keys_sign_as_rfc_8032_says() {
        let pair = [unhex(RFC_SEED), unhex(RFC_PUBLIC)].concat();
        let key = SigningKey::parse(&format!("whsk_{}", STANDARD.encode(&pair))).unwrap();
        assert_eq!(key.scheme(), Scheme::Ed25519);
        assert_eq!(
            key.public_key().unwrap(),
            format!("whpk_{}", STANDARD.encode(unhex(RFC_PUBLIC)))
        );
        let SigningKey::Ed25519(k) = &key else {
            unreachable!()
        };
        assert_eq!(k.sign(&[0x72]).to_bytes().to_vec(), unhex(RFC_SIGNATURE));
    }

    #[test]
    fn v1a_signatures_verify_with_the_public_key_only() {
        let secret = Scheme::Ed25519.generate();
        assert!(secret.starts_with("whsk_"));
        let key = SigningKey::parse(&secret).unwrap();
        let public = key.public_key().unwrap();
        let hmac = SigningKey::parse(SECRET).unwrap();
        // both schemes side by side, as during a rotation from one to the other
        let header = signature_header(&[key.clone(), hmac], ID, TS, BODY);
        let parts: Vec<&str> = header.split(' ').collect();
        assert!(parts[0].starts_with("v1a,") && parts[1].starts_with("v1,"));
        assert!(verify(&public, ID, TS, BODY, &header));
        assert!(verify(&secret, ID, TS, BODY, &header));
        assert!(verify(SECRET, ID, TS, BODY, &header));
        assert!(!verify(&public, ID, TS + 1, BODY, &header));
        assert!(!verify(&public, ID, TS, b"{}", &header));
        // a v1a signature is not taken for a v1 one, nor the other way round
        assert!(!verify(&public, ID, TS, BODY, parts[1]));
        assert!(!verify(SECRET, ID, TS, BODY, parts[0]));
        let other = SigningKey::parse(&Scheme::Ed25519.generate())
            .unwrap()
            .public_key()
            .unwrap();
        assert!(!verify(&other, ID, TS, BODY, &header));
    }

    #[test]
    fn the_portals_rust_snippet_verifies_v1a_signatures() {
        let key = SigningKey::parse(&Scheme::Ed25519.generate()).unwrap();
        let public = key.public_key().unwrap();
        let hmac = SigningKey::parse(SECRET).unwrap();
        let header = signature_header(&[hmac, key], ID, TS, BODY);
        let ts = TS.to_string();
        assert!(super::portal_snippet::verify(&public, ID, &ts, &header, BODY));
        assert!(!super::portal_snippet::verify(&public, ID, &ts, &header, b"{}"));
        assert!(!super::portal_snippet::verify(
            &public,
            "msg_other",
            &ts,
            &header,
            BODY
        ));
        let other = SigningKey::parse(&Scheme::Ed25519.generate())
            .unwrap()
            .public_key()
            .unwrap();
        assert!(!super::portal_snippet::verify(&other, ID, &ts, &header, BODY));
    }

    #[test]
    fn a_key_pair_whose_halves_do_not_match_is_refused() {
        let a = unhex(RFC_SEED);
        let wrong = [a.clone(), vec![7u8; 32]].concat();
        let short = STANDARD.encode(&a);
        assert_eq!(
            SigningKey::parse(&format!("whsk_{}", STANDARD.encode(wrong))).unwrap_err(),
            SigningError::BadEd25519Key
        );
        assert_eq!(
            SigningKey::parse(&format!("whsk_{short}")).unwrap_err(),
            SigningError::BadEd25519Key
        );
        assert_eq!(
            SigningKey::parse("whsk_***").unwrap_err(),
            SigningError::BadSecret
        );
        assert_eq!(Scheme::of("whsk_x"), Scheme::Ed25519);
        assert_eq!(Scheme::of("whsec_x"), Scheme::Hmac);
        assert!(format!("{:?}", SigningKey::parse(SECRET).unwrap()).contains("***"));
    }
}
