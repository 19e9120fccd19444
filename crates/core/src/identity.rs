//! Users, roles and what each role may do. Tokens and passwords are checked by the engine; this module
//! holds the permission rules and the token digest, both pure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Also creates remediation activities and device-group exceptions.
    Analyst,
    /// Also global exceptions, settings, users and tokens of others.
    Admin,
}

impl Role {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// The role a name stands for.
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "viewer" => Some(Role::Viewer),
            "analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Whether this role may do `action`.
    pub fn may(self, action: Action) -> bool {
        match action {
            Action::Read => true,
            Action::ManageActivities | Action::GroupException | Action::WriteInventory => {
                self >= Role::Analyst
            }
            Action::GlobalException | Action::ManageSettings | Action::ManageUsers => {
                self == Role::Admin
            }
        }
    }
}

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read any list or score.
    Read,
    /// Create, complete remediation activities.
    ManageActivities,
    /// Create and cancel device-group exceptions.
    GroupException,
    /// Create and cancel global exceptions.
    GlobalException,
    /// Upload inventories and assessments, edit devices and device groups, import advisories.
    WriteInventory,
    /// Change settings (exception policy, webhooks).
    ManageSettings,
    /// Create users and their tokens.
    ManageUsers,
}

impl Action {
    /// What the action is, for 403 messages ("… may not create global exceptions").
    pub fn describe(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::ManageActivities => "manage remediation activities",
            Action::GroupException => "manage device-group exceptions",
            Action::GlobalException => "manage global exceptions",
            Action::WriteInventory => "change inventories, devices or device groups",
            Action::ManageSettings => "change settings",
            Action::ManageUsers => "manage users and tokens",
        }
    }
}

/// A user as stored (the password hash stays in the store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Store id.
    pub id: i64,
    /// Unique e-mail address (lower-cased).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// An API token as stored: never the token itself, only its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    /// Store id.
    pub id: i64,
    /// The user it acts for.
    pub user_id: i64,
    /// The first characters of the token, to tell tokens apart in lists.
    pub prefix: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When it stops working (`None`: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// The last time it was used.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Whether it is usable at `now`.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none_or(|t| t > now) && self.expires_at.is_none_or(|t| t > now)
    }
}

/// A web-console sign-in session as stored: never the cookie's value, only its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleSession {
    /// Store id.
    pub id: i64,
    /// The signed-in user.
    pub user_id: i64,
    /// When the user signed in.
    pub created_at: DateTime<Utc>,
    /// When it ends whatever happens (the absolute lifetime).
    pub expires_at: DateTime<Utc>,
    /// The last request made with it, to the minute (the idle timeout counts from here).
    pub last_seen_at: DateTime<Utc>,
    /// When the user signed out.
    pub ended_at: Option<DateTime<Utc>>,
}

impl ConsoleSession {
    /// Whether it is usable at `now`, given the idle timeout.
    pub fn valid_at(&self, now: DateTime<Utc>, idle: chrono::Duration) -> bool {
        self.ended_at.is_none_or(|t| t > now)
            && self.expires_at > now
            && now - self.last_seen_at < idle
    }
}

/// The prefix every Bulwark API token starts with (so that secret scanners can recognise them).
pub const TOKEN_PREFIX: &str = "bwk_";

/// The digest a token is stored and looked up by: SHA-256, hex. Tokens are 256-bit random strings, so a
/// fast digest is enough (a slow password hash would only slow every request).
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Normalises an e-mail address for storage and lookup, or says what is wrong with it.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else {
        return Err(format!("{email:?} is not an e-mail address (no @)"));
    };
    if local.is_empty() || domain.is_empty() || domain.contains('@') || email.len() > 254 {
        return Err(format!("{email:?} is not an e-mail address"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{email:?} contains spaces or control characters"));
    }
    Ok(email.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_grow_by_rank() {
        assert!(Role::Viewer.may(Action::Read));
        assert!(!Role::Viewer.may(Action::GroupException));
        assert!(Role::Analyst.may(Action::GroupException));
        assert!(Role::Analyst.may(Action::ManageActivities));
        assert!(!Role::Analyst.may(Action::GlobalException));
        assert!(Role::Admin.may(Action::GlobalException));
        assert!(Role::Admin.may(Action::ManageUsers));
        assert_eq!(Role::parse("Admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn digests_and_emails() {
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            normalize_email(" Ana@Example.org ").unwrap(),
            "ana@example.org"
        );
        assert!(normalize_email("nobody").is_err());
        assert!(normalize_email("a@b@c").is_err());
        assert!(normalize_email("a b@c").is_err());
    }
}
