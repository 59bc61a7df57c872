//! `POST /discord/events`: Discord's webhook events, on when `DISCORD_PUBLIC_KEY` is set. A
//! PING is answered; `APPLICATION_DEAUTHORIZED` ends every grant of that person, as a
//! disconnect on `/apps` would, without telling Discord (which told us). Anything unsigned,
//! badly signed, stale or replayed is refused with 401 and changes nothing. Thin over
//! [`crate::rules::discord_events`].

use std::cell::RefCell;

use crate::rules::config::{Config, Secrets};
use crate::rules::discord_events::{self as events_rules, Event, SeenSignatures, MAX_EVENT_BYTES};
use crate::rules::keys::AuthKeys;
use crate::rules::oauth::assertion::Alg;
use crate::rules::oauth::grant::GrantRecord;
use crate::rules::platform::{Platform, Store, StoreError};
use crate::store::grants::read_json;
use crate::store::keys as kvkey;
use crate::web::http::{Reply, RequestInfo};
use crate::web::token::{end_grant, Ctx};

thread_local! {
    static SEEN: RefCell<SeenSignatures> = RefCell::new(SeenSignatures::default());
}

fn refused(why: &str) -> Reply {
    Reply::json(401, &serde_json::json!({ "error": "invalid request signature", "error_description": why }))
}

/// `POST /discord/events`.
pub async fn events<P: Platform>(
    req: &RequestInfo,
    cfg: &Config,
    secrets: &Secrets<'_>,
    keys: &AuthKeys,
    platform: &P,
) -> Reply {
    let Some(public_key) = cfg.discord_public_key else {
        return Reply::json(
            404,
            &serde_json::json!({ "error": "not_found", "error_description": "webhook events are off: DISCORD_PUBLIC_KEY is not set" }),
        );
    };
    let now = req.now_s();
    let Some(body) = req.body_within(MAX_EVENT_BYTES) else { return refused("the body is too large") };
    let (message, signature) =
        match events_rules::signed(req.header("x-signature-ed25519"), req.header("x-signature-timestamp"), body, now) {
            Ok(s) => s,
            Err(why) => return refused(why),
        };
    let jwk = events_rules::public_jwk(&public_key);
    if !platform.verify_signature(Alg::Ed25519, &jwk, &message, &signature).await {
        return refused("the signature does not verify");
    }
    if !SEEN.with(|s| s.borrow_mut().first_use(&signature, now)) {
        return refused("this signed request was already received");
    }
    match events_rules::parse(body, secrets.discord_client_id) {
        Some(Event::Deauthorized { user_id }) => {
            req.note(|n| n.user = Some(user_id.clone()));
            let cx = Ctx { cfg, secrets, keys, platform, now, origin: req.origin(), req: Some(req) };
            match end_every_grant(&cx, &user_id).await {
                Ok(()) => Reply::empty(204),
                // Discord retries an event that was not answered with 2xx.
                Err(_) => Reply::empty(500),
            }
        }
        Some(_) => Reply::empty(204),
        None => Reply::json(
            400,
            &serde_json::json!({ "error": "invalid_request", "error_description": "not a Discord event" }),
        ),
    }
}

/// Ends every active grant of `user`: each one as a disconnect would, but Discord is not told.
async fn end_every_grant<P: Platform>(cx: &Ctx<'_, P>, user: &str) -> Result<(), StoreError> {
    let kv = cx.platform.kv().ok_or_else(|| StoreError::Backend("OAUTH_KV is not bound".into()))?;
    let prefix = kvkey::grants_of(user);
    let mut cursor = None;
    loop {
        let (names, next) = kv.list(&prefix, cursor.as_deref()).await?;
        for key in names {
            let Some(grant) = key.strip_prefix(&prefix) else { continue };
            let Some(record) = read_json::<_, GrantRecord>(kv, &key).await? else { continue };
            if record.active(cx.now) {
                end_grant(cx, kv, user, grant, &record, "the person removed the application in Discord", false).await?;
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::oauth::grant::Profile;
    use crate::rules::platform::block_on;
    use crate::testing::signer::EventSigner;
    use crate::testing::{config_with, Fake};
    use crate::web::http::Body;

    const NOW: i64 = 1_785_240_000;
    const USER: &str = "80351110224678912";
    const OTHER: &str = "80351110224678999";

    fn grant(fake: &Fake, user: &str, grant: &str) {
        let record = GrantRecord {
            client_id: "c".into(),
            client_name: None,
            scope: "mcp".into(),
            resource: "https://mcp.example/mcp".into(),
            user: Profile {
                id: user.into(),
                username: String::new(),
                global_name: None,
                avatar_url: None,
                email: None,
            },
            created: NOW - 100,
            expires: NOW + 1000,
            refresh_expires: NOW + 1000,
            discord: None,
            revoked: None,
            private_key_jwt: false,
        };
        block_on(fake.kv.put(&kvkey::grant(user, grant), &serde_json::to_string(&record).unwrap(), None)).unwrap();
    }

    fn revoked(fake: &Fake, user: &str, grant: &str) -> bool {
        let raw = fake.kv.entries.borrow()[&kvkey::grant(user, grant)].0.clone();
        serde_json::from_str::<GrantRecord>(&raw).unwrap().revoked.is_some()
    }

    fn post(fake: &Fake, cfg: &Config, body: &str, headers: Vec<(String, String)>, now: i64) -> u16 {
        let secrets = cfg.secrets().unwrap();
        let keys = secrets.auth_keys();
        let url = url::Url::parse("https://mcp.example/discord/events").unwrap();
        let req = RequestInfo::new("POST", url, headers)
            .with_body(Body::Bytes(body.as_bytes().to_vec()))
            .with_now(now as u64 * 1000);
        block_on(events(&req, cfg, &secrets, &keys, fake)).status
    }

    fn signed(signer: &EventSigner, body: &str, at: i64) -> Vec<(String, String)> {
        let ts = at.to_string();
        vec![("x-signature-ed25519".into(), signer.sign(&ts, body)), ("x-signature-timestamp".into(), ts)]
    }

    #[test]
    fn a_deauthorization_ends_every_grant_of_that_person_and_nothing_else() {
        let signer = EventSigner::default();
        let cfg = config_with(&[("DISCORD_PUBLIC_KEY", &signer.public_hex())]);
        let fake = Fake::default();
        for (u, g) in
            [(USER, "AAAAAAAAAAAAAAAAAAAAAA"), (USER, "BBBBBBBBBBBBBBBBBBBBBB"), (OTHER, "CCCCCCCCCCCCCCCCCCCCCC")]
        {
            grant(&fake, u, g);
        }
        let ping = r#"{"version":1,"application_id":"1","type":0}"#;
        assert_eq!(post(&fake, &cfg, ping, signed(&signer, ping, NOW), NOW), 204);
        let deauth = format!(
            r#"{{"version":1,"application_id":"1","type":1,"event":{{"type":"APPLICATION_DEAUTHORIZED","timestamp":"2026-07-28T12:00:00+00:00","data":{{"user":{{"id":"{USER}"}}}}}}}}"#
        );
        // Refused, and nothing changes: unsigned, signed by another key, stale, tampered.
        assert_eq!(post(&fake, &cfg, &deauth, vec![], NOW), 401);
        let other = EventSigner(ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([9; 32])));
        assert_eq!(post(&fake, &cfg, &deauth, signed(&other, &deauth, NOW), NOW), 401);
        assert_eq!(post(&fake, &cfg, &deauth, signed(&signer, &deauth, NOW - 600), NOW), 401, "stale");
        let tampered = deauth.replace(USER, OTHER);
        assert_eq!(post(&fake, &cfg, &tampered, signed(&signer, &deauth, NOW), NOW), 401);
        assert!(!revoked(&fake, USER, "AAAAAAAAAAAAAAAAAAAAAA"));
        fake.kv.take_ops();
        // Signed as Discord signs: both of that person's grants end; the other person's stays.
        let good = signed(&signer, &deauth, NOW);
        assert_eq!(post(&fake, &cfg, &deauth, good.clone(), NOW), 204);
        assert!(revoked(&fake, USER, "AAAAAAAAAAAAAAAAAAAAAA") && revoked(&fake, USER, "BBBBBBBBBBBBBBBBBBBBBB"));
        assert!(!revoked(&fake, OTHER, "CCCCCCCCCCCCCCCCCCCCCC"));
        assert!(fake.sent.borrow().is_empty(), "Discord is not told: it told us");
        assert!(
            crate::store::revoked::revoked_here("AAAAAAAAAAAAAAAAAAAAAA", NOW + 1),
            "access tokens stop here at once"
        );
        // The same signed request again is a replay.
        assert_eq!(post(&fake, &cfg, &deauth, good, NOW + 1), 401);
    }

    #[test]
    fn the_endpoint_is_off_without_the_public_key() {
        let signer = EventSigner::default();
        let ping = r#"{"type":0}"#;
        assert_eq!(post(&Fake::default(), &crate::testing::config(), ping, signed(&signer, ping, NOW), NOW), 404);
        let bad = config_with(&[("DISCORD_PUBLIC_KEY", "not hex")]);
        assert!(bad.secrets().is_err(), "an unusable key is a configuration problem, not an open endpoint");
    }
}
