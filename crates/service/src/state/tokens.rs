//! Bearer tokens: created once (the secret is shown once and only its BLAKE3 hash is stored), listed,
//! revoked, and resolved to the caller's role and region.

use rusqlite::{params, OptionalExtension};

use super::{StateError, Store, Timestamp};
use wagewatch_core::contract::RegionPrefix;

/// Every token secret starts with this, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "ww_";

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Reads scores in its region and records inspections.
    Inspector,
    /// Reads and exports scores in its region.
    Supervisor,
    /// Everything: all regions, re-scores, tokens, the audit log.
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
    /// The region the caller may see; the whole country for an admin created without one.
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
}

impl TokenRecord {
    /// The header of the columns [`TokenRecord`]'s `Display` writes.
    pub const HEADER: &'static str = "  id  role        region   created               revoked               name";
}

/// One line of a token list: id, role, region (`all` for the whole country), created, revoked, name.
impl std::fmt::Display for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let region = if self.region == RegionPrefix::ALL { "all".to_string() } else { self.region.to_string() };
        let revoked = self.revoked_at.map(|r| r.to_string()).unwrap_or_default();
        write!(
            f,
            "{:>4}  {:<10}  {region:<7}  {:<20}  {revoked:<20}  {}",
            self.token_id,
            self.role.code(),
            self.created_at,
            self.name
        )
    }
}

/// Why a token cannot be created as asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRuleError {
    #[error("inspector and supervisor tokens need a region")]
    RegionNeeded,
    #[error("a token's name must have 1 to {max} characters", max = NewToken::MAX_NAME_CHARS)]
    BadName,
}

/// A token about to be created, checked against the rules every way of creating one applies: a name of 1 to
/// 100 characters, and a region for every role but admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewToken {
    name: String,
    role: Role,
    region: RegionPrefix,
}

impl NewToken {
    /// The longest name a token may have, in characters.
    pub const MAX_NAME_CHARS: usize = 100;

    /// Checks a request for a token.
    pub fn new(name: &str, role: Role, region: RegionPrefix) -> Result<NewToken, TokenRuleError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_NAME_CHARS {
            return Err(TokenRuleError::BadName);
        }
        if role != Role::Admin && region == RegionPrefix::ALL {
            return Err(TokenRuleError::RegionNeeded);
        }
        Ok(NewToken { name: name.to_string(), role, region })
    }
}

/// The stored form of a secret.
fn secret_hash(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

impl Store {
    /// Creates a token and returns its record and its secret (shown once, never stored).
    pub fn create_token(&mut self, token: &NewToken) -> Result<(TokenRecord, String), StateError> {
        let NewToken { name, role, region } = token;
        let (name, role, region) = (name.as_str(), *role, *region);
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random generator");
        let secret: String =
            std::iter::once(TOKEN_PREFIX.to_string()).chain(bytes.iter().map(|b| format!("{b:02x}"))).collect();
        let created_at = Timestamp::now();
        self.conn
            .execute(
                "INSERT INTO tokens (name, role, region, secret_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, role.code(), region.to_string(), secret_hash(&secret), created_at.to_string()],
            )
            .map_err(|e| self.db_err(e))?;
        let token_id = self.conn.last_insert_rowid();
        Ok((TokenRecord { token_id, name: name.to_string(), role, region, created_at, revoked_at: None }, secret))
    }

    /// Every token, oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT token_id, name, role, region, created_at, revoked_at FROM tokens ORDER BY token_id")
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (token_id, name, role, region, created_at, revoked_at) = row.map_err(|e| self.db_err(e))?;
            let corrupt = |what: &str| StateError::Corrupt { what: format!("token {token_id}: {what}") };
            out.push(TokenRecord {
                role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
                region: RegionPrefix::parse(&region).ok_or_else(|| corrupt("region"))?,
                created_at: Timestamp::parse(&created_at).ok_or_else(|| corrupt("created_at"))?,
                revoked_at: revoked_at
                    .map(|t| Timestamp::parse(&t).ok_or_else(|| corrupt("revoked_at")))
                    .transpose()?,
                token_id,
                name,
            });
        }
        Ok(out)
    }

    /// Revokes a token; revoking twice keeps the first time.
    pub fn revoke_token(&mut self, token_id: i64) -> Result<(), StateError> {
        let changed = self
            .conn
            .execute(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE token_id = ?1",
                params![token_id, Timestamp::now().to_string()],
            )
            .map_err(|e| self.db_err(e))?;
        if changed == 0 {
            return Err(StateError::UnknownToken { token_id });
        }
        Ok(())
    }

    /// The caller behind a secret, or `None` for an unknown or revoked token.
    pub fn principal(&self, secret: &str) -> Result<Option<Principal>, StateError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT token_id, name, role, region FROM tokens WHERE secret_hash = ?1 AND revoked_at IS NULL",
            )
            .and_then(|mut stmt| {
                stmt.query_row([secret_hash(secret)], |row| {
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
        let corrupt = |what: &str| StateError::Corrupt { what: format!("token {token_id}: {what}") };
        Ok(Some(Principal {
            role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
            region: RegionPrefix::parse(&region).ok_or_else(|| corrupt("region"))?,
            token_id,
            name,
        }))
    }
}
