//! Users and API tokens: creating them (passwords hashed with Argon2id, tokens random and stored only
//! as a digest), and authenticating a bearer token to the user it acts for.

use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use bulwark_core::identity::{
    Action, ApiToken, ConsoleSession, Role, TOKEN_PREFIX, User, normalize_email, token_digest,
};
use bulwark_store::{NewToken, NewUser};

use crate::exceptions::require;
use crate::{Engine, EngineError, EngineResult};

/// The actor the CLI acts as for administration on the machine that holds the database: whoever can
/// open the database file or URL already has every power over it.
pub const LOCAL_ADMIN: &str = "local-admin";

/// The longest display name, in characters.
const MAX_DISPLAY_NAME: usize = 200;

/// A token just created: the token itself (shown once, never stored) and its record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    /// The bearer token. It cannot be recovered later.
    pub token: String,
    /// What is stored about it.
    pub record: ApiToken,
}

/// The user the CLI acts as for local administration (admin rights, not stored).
pub fn local_admin() -> User {
    User {
        id: 0,
        email: LOCAL_ADMIN.to_string(),
        display_name: "Local administrator".to_string(),
        role: Role::Admin,
        created_at: DateTime::<Utc>::UNIX_EPOCH,
    }
}

impl Engine {
    /// Creates a user (admins only). The password, when given, is hashed with Argon2id.
    pub async fn add_user(
        &self,
        actor: &User,
        email: &str,
        display_name: Option<&str>,
        role: Role,
        password: Option<&str>,
    ) -> EngineResult<User> {
        require(actor, Action::ManageUsers)?;
        let email = normalize_email(email).map_err(EngineError::Invalid)?;
        let display_name = display_name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| email.split('@').next().unwrap_or(&email))
            .to_string();
        if display_name.chars().count() > MAX_DISPLAY_NAME {
            return Err(EngineError::Invalid(format!(
                "displayName: at most {MAX_DISPLAY_NAME} characters"
            )));
        }
        let password_hash = password.map(checked_password_hash).transpose()?;
        let user = NewUser {
            email,
            display_name,
            role,
            password_hash,
        };
        Ok(self
            .store
            .create_user(&user, &actor.email, self.now())
            .await?)
    }

    /// Sets a user's console password (admins for anyone; every user for themself) and ends the
    /// user's console sessions, so that a leaked password stops working everywhere at once.
    pub async fn set_password(
        &self,
        actor: &User,
        email: &str,
        password: &str,
    ) -> EngineResult<User> {
        let email = normalize_email(email).map_err(EngineError::Invalid)?;
        if actor.email != email {
            require(actor, Action::ManageUsers)?;
        }
        let hash = checked_password_hash(password)?;
        let (user, _) = self
            .store
            .user_by_email(&email)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("user {email}")))?;
        Ok(self
            .store
            .set_password(user.id, &hash, &actor.email, self.now())
            .await?)
    }

    /// Every user.
    pub async fn users(&self) -> EngineResult<Vec<User>> {
        Ok(self.store.users().await?)
    }

    /// Creates an API token for a user (admins for anyone; every user for themself), valid for `days`
    /// days or without expiry.
    pub async fn create_token(
        &self,
        actor: &User,
        email: &str,
        days: Option<u32>,
    ) -> EngineResult<CreatedToken> {
        let email = normalize_email(email).map_err(EngineError::Invalid)?;
        if actor.email != email {
            require(actor, Action::ManageUsers)?;
        }
        let (user, _) = self
            .store
            .user_by_email(&email)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("user {email}")))?;
        if days == Some(0) {
            return Err(EngineError::Invalid("days: must be at least 1".into()));
        }
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
        let now = self.now();
        let new = NewToken {
            user_id: user.id,
            prefix: token[..TOKEN_PREFIX.len() + 8].to_string(),
            digest: token_digest(&token),
            expires_at: days.map(|d| now + Duration::days(i64::from(d))),
        };
        let record = self.store.create_token(&new, &actor.email, now).await?;
        Ok(CreatedToken { token, record })
    }

    /// The user a bearer token acts for; `Unauthorized` with the reason when it is unknown, expired or
    /// revoked. Records the token's use (to the minute).
    pub async fn authenticate(&self, token: &str) -> EngineResult<User> {
        let token = token.trim();
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(EngineError::Unauthorized(
                "the bearer token is not a Bulwark API token (they start with bwk_)".into(),
            ));
        }
        let (record, user) = self
            .store
            .token_by_digest(&token_digest(token))
            .await?
            .ok_or_else(|| EngineError::Unauthorized("unknown API token".into()))?;
        let now = self.now();
        if record.revoked_at.is_some_and(|t| t <= now) {
            return Err(EngineError::Unauthorized(
                "this API token was revoked".into(),
            ));
        }
        if record.expires_at.is_some_and(|t| t <= now) {
            return Err(EngineError::Unauthorized(
                "this API token has expired".into(),
            ));
        }
        // The last-used time is kept to the minute: a write per request would serialise every read
        // behind the database's writer.
        if record
            .last_used_at
            .is_none_or(|t| now - t >= Duration::minutes(1))
        {
            self.store.touch_token(record.id, now).await?;
        }
        Ok(user)
    }

    /// The user with this e-mail and password; `Unauthorized` otherwise (one message for every cause).
    pub async fn verify_password(&self, email: &str, password: &str) -> EngineResult<User> {
        let refused = || EngineError::Unauthorized("wrong e-mail or password".into());
        let email = normalize_email(email).map_err(|_| refused())?;
        let Some((user, Some(hash))) = self.store.user_by_email(&email).await? else {
            return Err(refused());
        };
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| EngineError::Internal(format!("stored password hash: {e}")))?;
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .map_err(|_| refused())?;
        Ok(user)
    }

    /// A user's API tokens, revoked and expired ones included (admins for anyone; every user for
    /// their own). Records only: a token itself is shown once, when created.
    pub async fn tokens(&self, actor: &User, email: &str) -> EngineResult<Vec<ApiToken>> {
        let email = normalize_email(email).map_err(EngineError::Invalid)?;
        if actor.email != email {
            require(actor, Action::ManageUsers)?;
        }
        let (user, _) = self
            .store
            .user_by_email(&email)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("user {email}")))?;
        Ok(self.store.tokens(user.id).await?)
    }

    /// Revokes a token (admins, or the token's own user).
    pub async fn revoke_token(&self, actor: &User, id: i64) -> EngineResult<ApiToken> {
        let mine = self
            .store
            .tokens(actor.id)
            .await?
            .iter()
            .any(|t| t.id == id);
        if !mine {
            require(actor, Action::ManageUsers)?;
        }
        Ok(self
            .store
            .revoke_token(id, &actor.email, self.now())
            .await?)
    }

    /// The user with this e-mail (for the CLI's `--as`).
    pub async fn user(&self, email: &str) -> EngineResult<User> {
        let email = normalize_email(email).map_err(EngineError::Invalid)?;
        Ok(self
            .store
            .user_by_email(&email)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("user {email}")))?
            .0)
    }
}

/// The prefix of console session cookies' values (so that they are never mistaken for API tokens).
pub const SESSION_PREFIX: &str = "bws_";

/// How long a console session lasts at most, whatever the activity.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// How long a console session may go unused before it ends (the idle timeout).
pub const SESSION_IDLE: Duration = Duration::minutes(30);

/// A console session just started: the cookie's value (given to the browser, never stored) and the
/// session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedSession {
    /// The cookie's value.
    pub secret: String,
    /// What is stored about it.
    pub session: ConsoleSession,
    /// Who signed in.
    pub user: User,
}

impl Engine {
    /// Signs a user in with e-mail and password: a new console session. `Unauthorized` with one
    /// message for every cause (unknown user, no password, wrong password).
    pub async fn sign_in(&self, email: &str, password: &str) -> EngineResult<StartedSession> {
        let user = self.verify_password(email, password).await?;
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        let secret = format!("{SESSION_PREFIX}{}", hex::encode(bytes));
        let now = self.now();
        let session = self
            .store
            .create_session(user.id, &token_digest(&secret), now, now + SESSION_LIFETIME)
            .await?;
        Ok(StartedSession {
            secret,
            session,
            user,
        })
    }

    /// The session and user a console cookie stands for; `Unauthorized` when it is unknown, signed
    /// out, past its lifetime or idle for [`SESSION_IDLE`]. Records the use, to the minute.
    pub async fn session(&self, secret: &str) -> EngineResult<(ConsoleSession, User)> {
        let ended = || EngineError::Unauthorized("the session has ended; sign in again".into());
        if !secret.starts_with(SESSION_PREFIX) {
            return Err(ended());
        }
        let (session, user) = self
            .store
            .session_by_digest(&token_digest(secret))
            .await?
            .ok_or_else(ended)?;
        let now = self.now();
        if !session.valid_at(now, SESSION_IDLE) {
            return Err(ended());
        }
        if now - session.last_seen_at >= Duration::minutes(1) {
            self.store.touch_session(session.id, now).await?;
        }
        Ok((session, user))
    }

    /// Ends the session a console cookie stands for (sign-out); an unknown cookie is not an error.
    pub async fn sign_out(&self, secret: &str) -> EngineResult<()> {
        if let Some((session, _)) = self.store.session_by_digest(&token_digest(secret)).await? {
            self.store.end_session(session.id, self.now()).await?;
        }
        Ok(())
    }
}

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The Argon2id hash of a password long enough to accept.
fn checked_password_hash(password: &str) -> EngineResult<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(EngineError::Invalid(format!(
            "password: at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    hash_password(password)
}

/// An Argon2id PHC string of the password, with a random salt (the crate's default parameters:
/// Argon2id, m = 19 MiB, t = 2, p = 1, as OWASP recommends).
fn hash_password(password: &str) -> EngineResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::Internal(format!("password hashing failed: {e}")))
}
