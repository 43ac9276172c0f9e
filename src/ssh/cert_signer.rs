//! Certificate authentication signed by fleet itself: russh's own
//! `authenticate_openssh_cert` signs RSA certificates with SHA-1, which
//! OpenSSH 8.8+ refuses.

use std::sync::Arc;

use russh::keys::{HashAlg, PrivateKey};

/// Signs certificate authentication with a key file's private key. russh's
/// own `authenticate_openssh_cert` signs RSA certificates with SHA-1, which
/// OpenSSH 8.8+ refuses, so we sign here with the hash russh asks for.
pub(super) struct KeySigner(pub(super) Arc<PrivateKey>);

#[derive(Debug, thiserror::Error)]
pub(super) enum SignError {
    #[error("cannot send the signature: {0}")]
    Send(#[from] russh::SendError),
    #[error("cannot sign: {0}")]
    Sign(String),
}

impl russh::Signer for KeySigner {
    type Error = SignError;

    async fn auth_sign(
        &mut self,
        _key: &russh::keys::agent::AgentIdentity,
        hash_alg: Option<HashAlg>,
        mut to_sign: Vec<u8>,
    ) -> Result<Vec<u8>, SignError> {
        use russh::keys::signature::Signer as _;
        use russh::keys::ssh_encoding::Encode as _;
        let failed = |e: &dyn std::fmt::Display| SignError::Sign(e.to_string());
        let signature = match self.0.key_data() {
            russh::keys::ssh_key::private::KeypairData::Rsa(pair) => {
                (pair, hash_alg).try_sign(&to_sign)
            }
            _ => self.0.as_ref().try_sign(&to_sign),
        }
        .map_err(|e| failed(&e))?;
        let mut blob = Vec::new();
        signature.encode(&mut blob).map_err(|e| failed(&e))?;
        blob.encode(&mut to_sign).map_err(|e| failed(&e))?;
        Ok(to_sign)
    }
}
