//! `private_key_jwt` at the token, revocation and introspection endpoints: the client's
//! metadata document names its keys, the assertion is checked by
//! [`crate::rules::oauth::assertion`], and the signature by the platform (WebCrypto).

use std::cell::RefCell;

use crate::rules::config::Config;
use crate::rules::oauth::assertion::{self, KeyError, SeenJtis, ASSERTION_TYPE};
use crate::rules::oauth::client::{self, Client};
use crate::rules::oauth::error::OAuthError;
use crate::rules::oauth::form::Form;
use crate::rules::platform::Platform;
use crate::web::http::RequestInfo;
use crate::web::metadata_documents::{key_set, metadata_document, DocumentError};

thread_local! {
    static SEEN: RefCell<SeenJtis> = RefCell::new(SeenJtis::default());
}

fn invalid(why: &str) -> OAuthError {
    OAuthError::new("invalid_client", why)
}

/// The client of a request that carries `client_assertion`, authenticated. Its `auth_method`
/// is `PrivateKeyJwt`.
pub(super) async fn authenticate<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    platform: &P,
    form: &Form,
) -> Result<(String, Client), OAuthError> {
    if !cfg.private_key_jwt || cfg.metadata_documents_disabled {
        return Err(invalid("this server does not accept client assertions (private_key_jwt is switched off)"));
    }
    if form.get("client_assertion_type") != Some(ASSERTION_TYPE) {
        return Err(invalid("client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer"));
    }
    let Some(raw) = form.get("client_assertion") else {
        return Err(invalid("client_assertion is required with client_assertion_type"));
    };
    // RFC 6749 §2.3: one authentication method per request.
    if form.get("client_secret").is_some() || req.header("authorization").is_some() {
        return Err(invalid("a client assertion cannot be combined with another client authentication"));
    }
    let id = match (form.get("client_id"), assertion::named_client(raw)) {
        (Some(id), _) => id.to_string(),
        (None, Some(sub)) => sub,
        (None, None) => return Err(invalid("client authentication is required (client_id)")),
    };
    req.note(|n| n.client_id = Some(id.clone()));
    let Some(url) = client::metadata_url(&id, cfg.local_only) else {
        return Err(invalid("only clients identified by a metadata document URL authenticate with private_key_jwt"));
    };
    let now = req.now_s();
    let host = url.host_str().unwrap_or_default().to_string();
    let unavailable = |e: DocumentError| match e {
        DocumentError::Unreachable(why) => OAuthError::new(
            "temporarily_unavailable",
            format!("the client's metadata at {host} {why}; try again in a moment"),
        ),
        DocumentError::Invalid(why) => invalid(&format!("the client's metadata at {host} {why}")),
    };
    let client = metadata_document(platform, &url, now, cfg.document_rules()).await.map_err(unavailable)?;
    let Some(jwt) = client.jwt.clone() else {
        return Err(invalid("the client's metadata document does not declare private_key_jwt"));
    };
    let origin = req.origin();
    let token_endpoint = format!("{origin}/token");
    let called = format!("{origin}{}", req.url.path());
    let audiences = [origin.as_str(), token_endpoint.as_str(), called.as_str()];
    let a = assertion::check(raw, &id, &audiences, jwt.alg, now).map_err(invalid)?;
    let mut key = Err(KeyError::NotFound);
    for fresh in [false, true] {
        let jwks = key_set(platform, &jwt, now, fresh).await.map_err(unavailable)?;
        key = assertion::select_key(jwks.as_bytes(), &a);
        // A key the cached set does not have: the client may have rotated. Ask once more.
        if key != Err(KeyError::NotFound) || !matches!(jwt.keys, client::KeySource::Uri(_)) {
            break;
        }
    }
    let jwk = key.map_err(|e| match e {
        KeyError::NotFound => invalid("no key in the client's key set matches the assertion (kid, type and use)"),
        KeyError::Invalid => invalid("the client's key set has no usable key for the assertion"),
    })?;
    if !platform.verify_signature(a.alg, &jwk, &a.signed, &a.signature).await {
        return Err(invalid("the client assertion's signature does not verify"));
    }
    // After the signature: only the client itself can fill this memory.
    if !SEEN.with(|s| s.borrow_mut().first_use(&a, now)) {
        return Err(invalid("this client assertion was already used (jti)"));
    }
    Ok((id, client))
}
