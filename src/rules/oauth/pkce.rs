//! PKCE (RFC 7636), S256 only: `plain` is refused (OAuth 2.1, MCP authorization).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PkceError {
    /// No `code_challenge` on the authorization request.
    MissingChallenge,
    /// A method other than `S256` (including `plain`).
    UnsupportedMethod,
    /// Not 43 base64url characters (the encoding of a SHA-256 digest).
    MalformedChallenge,
    /// Not 43 to 128 characters of `[A-Za-z0-9-._~]`.
    MalformedVerifier,
    Mismatch,
}

impl PkceError {
    pub fn describe(&self) -> &'static str {
        match self {
            PkceError::MissingChallenge => "code_challenge is required (PKCE with S256)",
            PkceError::UnsupportedMethod => "code_challenge_method must be S256",
            PkceError::MalformedChallenge => {
                "code_challenge must be the base64url SHA-256 of the code verifier (43 characters)"
            }
            PkceError::MalformedVerifier => {
                "code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'"
            }
            PkceError::Mismatch => "code_verifier does not match the code_challenge",
        }
    }
}

/// Checks an authorization request's challenge. A missing method means `plain` (RFC 7636
/// §4.3), which is refused.
pub fn check_challenge(challenge: Option<&str>, method: Option<&str>) -> Result<(), PkceError> {
    let challenge = challenge.filter(|c| !c.is_empty()).ok_or(PkceError::MissingChallenge)?;
    if method != Some("S256") {
        return Err(PkceError::UnsupportedMethod);
    }
    let decodes_to_digest = B64.decode(challenge).is_ok_and(|d| d.len() == 32);
    if challenge.len() != 43 || !decodes_to_digest {
        return Err(PkceError::MalformedChallenge);
    }
    Ok(())
}

fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Verifies `verifier` against the stored S256 `challenge`, comparing in constant time.
pub fn verify(challenge: &str, verifier: &str) -> Result<(), PkceError> {
    if !verifier_well_formed(verifier) {
        return Err(PkceError::MalformedVerifier);
    }
    let computed = B64.encode(Sha256::digest(verifier.as_bytes()));
    if crate::rules::keys::ct_eq(computed.as_bytes(), challenge.as_bytes()) {
        Ok(())
    } else {
        Err(PkceError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_example_verifies() {
        assert_eq!(check_challenge(Some(CHALLENGE), Some("S256")), Ok(()));
        assert_eq!(verify(CHALLENGE, VERIFIER), Ok(()));
    }

    #[test]
    fn plain_missing_and_malformed_are_refused() {
        assert_eq!(check_challenge(None, Some("S256")), Err(PkceError::MissingChallenge));
        assert_eq!(check_challenge(Some(""), Some("S256")), Err(PkceError::MissingChallenge));
        assert_eq!(check_challenge(Some(CHALLENGE), Some("plain")), Err(PkceError::UnsupportedMethod));
        assert_eq!(
            check_challenge(Some(CHALLENGE), None),
            Err(PkceError::UnsupportedMethod),
            "absent method means plain"
        );
        assert_eq!(check_challenge(Some(CHALLENGE), Some("s256")), Err(PkceError::UnsupportedMethod));
        assert_eq!(
            check_challenge(Some(VERIFIER), Some("S256")),
            Ok(()),
            "any 43-char base64url digest is a challenge"
        );
        assert_eq!(check_challenge(Some("short"), Some("S256")), Err(PkceError::MalformedChallenge));
        assert_eq!(check_challenge(Some(&format!("{CHALLENGE}=")), Some("S256")), Err(PkceError::MalformedChallenge));
        assert_eq!(
            check_challenge(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"), Some("S256")),
            Err(PkceError::MalformedChallenge)
        );
    }

    #[test]
    fn wrong_or_malformed_verifiers_fail() {
        assert_eq!(verify(CHALLENGE, &VERIFIER.replace('d', "e")), Err(PkceError::Mismatch));
        assert_eq!(verify(CHALLENGE, "too-short"), Err(PkceError::MalformedVerifier));
        assert_eq!(verify(CHALLENGE, &"a".repeat(129)), Err(PkceError::MalformedVerifier));
        assert_eq!(verify(CHALLENGE, &format!("{} ", &VERIFIER[..42])), Err(PkceError::MalformedVerifier));
        assert_eq!(verify(CHALLENGE, &"é".repeat(30)), Err(PkceError::MalformedVerifier));
        assert_eq!(verify("", VERIFIER), Err(PkceError::Mismatch));
    }
}
