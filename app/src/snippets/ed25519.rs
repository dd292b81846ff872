// Verify a Hookline webhook signed with Ed25519 (v1a).
// Cargo.toml: ed25519-dalek = "2", base64 = "0.22"
use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::{Signature, VerifyingKey};

/// True when a v1a signature in `signature_header` is the endpoint's (`public_key`, whpk_…);
/// `body` is the raw request body. Also check that `timestamp` is within 5 minutes of now.
pub fn verify(public_key: &str, id: &str, timestamp: &str, signature_header: &str, body: &[u8]) -> bool {
    let key = STANDARD
        .decode(public_key.trim_start_matches("whpk_"))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok());
    let Some(key) = key else { return false };
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    signature_header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1a,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter_map(|b| Signature::from_slice(&b).ok())
        .any(|signature| key.verify_strict(&signed, &signature).is_ok())
}
