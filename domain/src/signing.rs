//! Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")),
//! where the secret is the base64 part of `whsec_...`. Several space-separated signatures are
//! sent while a rotated secret is in its grace period.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SigningError {
    #[error("the signing secret is not valid base64")]
    BadSecret,
}

/// The raw key bytes of a `whsec_`-prefixed (or bare) base64 secret.
pub fn secret_bytes(secret: &str) -> Result<Vec<u8>, SigningError> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
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
pub fn signature_header(keys: &[Vec<u8>], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|k| sign(k, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Receiver-side check: true when any `v1` signature in `header` matches `secret`.
/// Uses constant-time comparison through `Mac::verify_slice`.
pub fn verify(secret: &str, msg_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
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
        let header = signature_header(&[new, old], ID, TS, BODY);
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
}
