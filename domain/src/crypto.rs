//! Secrets at rest and credentials: endpoint secrets are sealed with XChaCha20-Poly1305 under
//! the instance key; API keys and session ids are kept only as SHA-256 digests; passwords as
//! argon2id hashes.
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 24;

/// Seals and opens endpoint secrets. Construct it from the 32-byte instance key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the encryption key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a stored secret could not be decrypted (wrong HOOKLINE_SECRET_KEY?)")]
    Undecryptable,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8]) -> Result<Self, CryptoError> {
        if key.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { cipher })
    }

    /// Parses the base64 form used in config files and the data directory.
    pub fn from_base64(key: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD.decode(key.trim()).map_err(|_| CryptoError::BadKey)?;
        Self::new(&bytes)
    }

    /// A fresh random key, base64-encoded.
    pub fn generate_key_base64() -> String {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// `nonce || ciphertext`.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("XChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Undecryptable);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let pt = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Undecryptable)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Undecryptable)
    }
}

/// A new endpoint signing secret: `whsec_` + base64 of 24 random bytes (as Svix makes them).
pub fn generate_endpoint_secret() -> String {
    let mut raw = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("whsec_{}", STANDARD.encode(raw))
}

/// A new API key. Returns `(key, shown_prefix)`; only [`sha256`] of the key is stored.
pub fn generate_api_key() -> (String, String) {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let key = format!("sk_{}", URL_SAFE_NO_PAD.encode(raw));
    let prefix = key[..10].to_string();
    (key, prefix)
}

/// A random URL-safe token of `bytes` bytes of entropy (session ids, portal tokens).
pub fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// The key a portal session is stored under: the first 16 bytes of the SHA-256 of its id
/// (the cookie's value), so that a leaked table cannot be replayed as cookies.
pub fn session_digest(id: i128) -> i128 {
    let bytes = Sha256::digest(id.to_le_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&bytes[..16]);
    i128::from_le_bytes(out)
}

pub fn sha256(data: &str) -> Vec<u8> {
    Sha256::digest(data.as_bytes()).to_vec()
}

/// argon2id with the crate's default (OWASP-recommended) parameters, PHC string format.
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with default params cannot fail")
        .to_string()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_round_trip_and_do_not_contain_plaintext() {
        let b = SecretBox::from_base64(&SecretBox::generate_key_base64()).unwrap();
        let secret = generate_endpoint_secret();
        let sealed = b.seal(&secret);
        assert!(!sealed.windows(8).any(|w| w == &secret.as_bytes()[6..14]));
        assert_eq!(b.open(&sealed).unwrap(), secret);
        let other = SecretBox::from_base64(&SecretBox::generate_key_base64()).unwrap();
        assert!(other.open(&sealed).is_err());
    }

    #[test]
    fn endpoint_secrets_match_the_svix_format() {
        let s = generate_endpoint_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&s[6..]).unwrap().len(), 24);
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery staple");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("wrong", &h));
    }
}
