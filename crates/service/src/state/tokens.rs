//! Bearer tokens: created once (the secret is shown once and only its BLAKE3 hash is stored), listed,
//! revoked, optionally expiring, and resolved to the caller's role and region.
//!
//! A secret is `ww_` and 64 hex digits. Only a string of that form is ever looked up ([`SecretHash::of`]
//! refuses anything else), so whatever a stranger sends costs one format check, not a database query.

use rusqlite::{params, OptionalExtension};

use super::{StateError, Store, Timestamp};
use wagewatch_core::contract::RegionPrefix;

/// Every token secret starts with this, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "ww_";
/// Hex digits after the prefix.
const SECRET_HEX_DIGITS: usize = 64;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Reads scores in its region and records inspections.
    Inspector,
    /// Reads and exports scores in its region.
    Supervisor,
    /// Manages tokens, reads the audit log and starts re-scores, within its region.
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Inspector, Role::Supervisor, Role::Admin];

    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Inspector => "inspector",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role of a code.
    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// The caller behind a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub name: String,
    pub role: Role,
    /// The region the caller may see and act in; the whole country for an admin created without one.
    pub region: RegionPrefix,
}

/// A token as listed (never with its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub token_id: i64,
    pub name: String,
    pub role: Role,
    pub region: RegionPrefix,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    /// After this instant the token no longer works.
    pub expires_at: Option<Timestamp>,
}

impl TokenRecord {
    /// The header of the columns [`TokenRecord`]'s `Display` writes.
    pub const HEADER: &'static str =
        "  id  role        region   created               expires               revoked               name";
}

/// One line of a token list: id, role, region (`all` for the whole country), created, expiry, revoked, name.
impl std::fmt::Display for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let region = if self.region == RegionPrefix::ALL { "all".to_string() } else { self.region.to_string() };
        let time = |t: Option<Timestamp>| t.map(|r| r.to_string()).unwrap_or_default();
        write!(
            f,
            "{:>4}  {:<10}  {region:<7}  {:<20}  {:<20}  {:<20}  {}",
            self.token_id,
            self.role.code(),
            self.created_at,
            time(self.expires_at),
            time(self.revoked_at),
            self.name
        )
    }
}

/// Why a token cannot be created as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRuleError {
    #[error("inspector and supervisor tokens need a region")]
    RegionNeeded,
    #[error("a token's name must have 1 to {max} characters and no control characters", max = NewToken::MAX_NAME_CHARS)]
    BadName,
    #[error("a token's expiry must lie in the future")]
    ExpiryPassed,
}

/// A token about to be created, checked against the rules every way of creating one applies: a name of 1 to
/// 100 characters, a region for every role but admin, and an expiry (if any) in the future.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    name: String,
    role: Role,
    region: RegionPrefix,
    expires_at: Option<Timestamp>,
}

impl NewToken {
    /// The longest name a token may have, in characters.
    pub const MAX_NAME_CHARS: usize = 100;

    /// Checks a request for a token that does not expire.
    pub fn new(name: &str, role: Role, region: RegionPrefix) -> Result<NewToken, TokenRuleError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_NAME_CHARS || name.contains(char::is_control) {
            return Err(TokenRuleError::BadName);
        }
        if role != Role::Admin && region == RegionPrefix::ALL {
            return Err(TokenRuleError::RegionNeeded);
        }
        Ok(NewToken { name: name.to_string(), role, region, expires_at: None })
    }

    /// The same token, expiring at `at` (which must be after `now`).
    pub fn expiring(mut self, at: Timestamp, now: Timestamp) -> Result<NewToken, TokenRuleError> {
        if at <= now {
            return Err(TokenRuleError::ExpiryPassed);
        }
        self.expires_at = Some(at);
        Ok(self)
    }

    /// The region the token will have.
    pub fn region(&self) -> RegionPrefix {
        self.region
    }
}

/// The stored form of a secret: its BLAKE3 hash, made only from a string of the token format.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SecretHash(String);

impl SecretHash {
    /// The hash of `secret` if it has the token format (`ww_` and 64 lower-case hex digits), else `None`.
    pub fn of(secret: &str) -> Option<SecretHash> {
        let hex = secret.strip_prefix(TOKEN_PREFIX)?;
        let well_formed = hex.len() == SECRET_HEX_DIGITS && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| SecretHash(blake3::hash(secret.as_bytes()).to_hex().to_string()))
    }

    /// The hash as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new random secret of the token format.
fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_HEX_DIGITS / 2];
    getrandom::fill(&mut bytes).expect("the operating system's random generator");
    std::iter::once(TOKEN_PREFIX.to_string()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect()
}

type TokenRow = (i64, String, String, String, String, Option<String>, Option<String>);

fn token_record(
    (token_id, name, role, region, created_at, revoked_at, expires_at): TokenRow,
) -> Result<TokenRecord, StateError> {
    let corrupt = |what: &str| StateError::Corrupt { what: format!("token {token_id}: {what}") };
    let time = |t: Option<String>, what: &str| t.map(|t| Timestamp::parse(&t).ok_or_else(|| corrupt(what))).transpose();
    Ok(TokenRecord {
        role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
        region: RegionPrefix::parse(&region).ok_or_else(|| corrupt("region"))?,
        created_at: Timestamp::parse(&created_at).ok_or_else(|| corrupt("created_at"))?,
        revoked_at: time(revoked_at, "revoked_at")?,
        expires_at: time(expires_at, "expires_at")?,
        token_id,
        name,
    })
}

impl Store {
    /// Creates a token and returns its record and its secret (shown once, never stored).
    pub fn create_token(&mut self, token: &NewToken) -> Result<(TokenRecord, String), StateError> {
        let secret = new_secret();
        let hash = SecretHash::of(&secret).expect("a new secret has the token format");
        let created_at = Timestamp::now();
        self.conn
            .execute(
                "INSERT INTO tokens (name, role, region, secret_hash, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    token.name,
                    token.role.code(),
                    token.region.to_string(),
                    hash.as_str(),
                    created_at.to_string(),
                    token.expires_at.map(|t| t.to_string())
                ],
            )
            .map_err(|e| self.db_err(e))?;
        let record = TokenRecord {
            token_id: self.conn.last_insert_rowid(),
            name: token.name.clone(),
            role: token.role,
            region: token.region,
            created_at,
            revoked_at: None,
            expires_at: token.expires_at,
        };
        Ok((record, secret))
    }

    /// The tokens whose region lies within `within` (every token for [`RegionPrefix::ALL`]), oldest first.
    pub fn tokens_within(&self, within: RegionPrefix) -> Result<Vec<TokenRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT token_id, name, role, region, created_at, revoked_at, expires_at FROM tokens
                 WHERE substr(region, 1, length(?1)) = ?1 ORDER BY token_id",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([within.to_string()], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(token_record(row.map_err(|e| self.db_err(e))?)?);
        }
        Ok(out)
    }

    /// Every token, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StateError> {
        self.tokens_within(RegionPrefix::ALL)
    }

    /// Revokes a token whose region lies within `within`; revoking twice keeps the first time. A token
    /// outside `within` is answered like an unknown one.
    pub fn revoke_token(&mut self, token_id: i64, within: RegionPrefix) -> Result<TokenRecord, StateError> {
        let changed = self
            .conn
            .execute(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2)
                 WHERE token_id = ?1 AND substr(region, 1, length(?3)) = ?3",
                params![token_id, Timestamp::now().to_string(), within.to_string()],
            )
            .map_err(|e| self.db_err(e))?;
        if changed == 0 {
            return Err(StateError::UnknownToken { token_id });
        }
        self.tokens_within(within)?
            .into_iter()
            .find(|t| t.token_id == token_id)
            .ok_or(StateError::UnknownToken { token_id })
    }

    /// The caller behind a secret's hash at `now`, or `None` for an unknown, revoked or expired token.
    pub fn principal(&self, hash: &SecretHash, now: Timestamp) -> Result<Option<Principal>, StateError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT token_id, name, role, region FROM tokens
                 WHERE secret_hash = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![hash.as_str(), now.to_string()], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })
                .optional()
            })
            .map_err(|e| self.db_err(e))?;
        let Some((token_id, name, role, region)) = row else { return Ok(None) };
        self.principal_of(token_id, name, &role, &region).map(Some)
    }

    /// The caller behind a token id at `now` (for a session), or `None` when the token no longer works.
    pub(super) fn principal_by_id(&self, token_id: i64, now: Timestamp) -> Result<Option<Principal>, StateError> {
        let row = self
            .conn
            .query_row(
                "SELECT name, role, region FROM tokens
                 WHERE token_id = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)",
                params![token_id, now.to_string()],
                |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)),
            )
            .optional()
            .map_err(|e| self.db_err(e))?;
        let Some((name, role, region)) = row else { return Ok(None) };
        self.principal_of(token_id, name, &role, &region).map(Some)
    }

    fn principal_of(&self, token_id: i64, name: String, role: &str, region: &str) -> Result<Principal, StateError> {
        let corrupt = |what: &str| StateError::Corrupt { what: format!("token {token_id}: {what}") };
        Ok(Principal {
            role: Role::parse(role).ok_or_else(|| corrupt("role"))?,
            region: RegionPrefix::parse(region).ok_or_else(|| corrupt("region"))?,
            token_id,
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_strings_of_the_token_format_are_hashed() {
        let good = new_secret();
        assert!(SecretHash::of(&good).is_some());
        for bad in [
            "",
            "ww_",
            "Bearer ww_00",
            &good[..good.len() - 1],
            &format!("{good}0"),
            &good.to_uppercase(),
            &format!("xx_{}", &good[3..]),
            &"ww_".to_string().repeat(100_000),
        ] {
            assert!(SecretHash::of(bad).is_none(), "{bad:.40}");
        }
        assert_ne!(SecretHash::of(&good), SecretHash::of(&new_secret()));
    }

    #[test]
    fn token_rules() {
        let all = RegionPrefix::ALL;
        let district = RegionPrefix::parse("320102").unwrap();
        assert_eq!(NewToken::new(" ", Role::Admin, all), Err(TokenRuleError::BadName));
        assert_eq!(NewToken::new(&"名".repeat(101), Role::Admin, all), Err(TokenRuleError::BadName));
        assert_eq!(NewToken::new("x", Role::Supervisor, all), Err(TokenRuleError::RegionNeeded));
        let t = NewToken::new("x", Role::Inspector, district).unwrap();
        let now = Timestamp(1_000);
        assert_eq!(t.clone().expiring(Timestamp(1_000), now), Err(TokenRuleError::ExpiryPassed));
        assert_eq!(t.expiring(Timestamp(1_001), now).unwrap().expires_at, Some(Timestamp(1_001)));
    }
}
