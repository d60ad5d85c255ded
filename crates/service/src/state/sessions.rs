//! Dashboard sessions: a sign-in with a token creates a session whose random id goes into the browser's
//! cookie (the token itself never does); only the id's BLAKE3 hash is stored. A session ends when the
//! person signs out, when it has been idle too long, when it reaches its absolute lifetime, or when its
//! token is revoked or expires.

use rusqlite::{params, OptionalExtension};

use super::tokens::Principal;
use super::{StateError, Store, Timestamp};

/// How long sessions live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Seconds without a request after which a session ends.
    pub idle_seconds: i64,
    /// Seconds after sign-in after which a session ends whatever its use.
    pub max_seconds: i64,
}

/// Sessions' last-seen times are written at most this often, so a busy page does not write the database on
/// every request; idle expiry is exact to this many seconds.
const TOUCH_EVERY_SECONDS: i64 = 60;

fn session_hash(id: &str) -> Option<String> {
    // A session id is 64 lower-case hex digits; anything else is not looked up.
    let well_formed = id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    well_formed.then(|| blake3::hash(id.as_bytes()).to_hex().to_string())
}

impl Store {
    /// Starts a session for a token; returns the id to put in the cookie (shown once, stored hashed).
    pub fn create_session(&mut self, token_id: i64, now: Timestamp) -> Result<String, StateError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random generator");
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let hash = session_hash(&id).expect("a new session id is well formed");
        self.conn
            .execute(
                "INSERT INTO sessions (session_hash, token_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
                params![hash, token_id, now.to_string()],
            )
            .map_err(|e| self.db_err(e))?;
        Ok(id)
    }

    /// The caller behind a live session at `now`, refreshing its last-seen time; `None` (and the session
    /// deleted) when it is unknown, idle too long, too old, or its token no longer works.
    pub fn session_principal(
        &mut self,
        id: &str,
        now: Timestamp,
        limits: SessionLimits,
    ) -> Result<Option<Principal>, StateError> {
        let Some(hash) = session_hash(id) else { return Ok(None) };
        let row = self
            .conn
            .query_row(
                "SELECT token_id, created_at, last_seen_at FROM sessions WHERE session_hash = ?1",
                [&hash],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)),
            )
            .optional()
            .map_err(|e| self.db_err(e))?;
        let Some((token_id, created_at, last_seen_at)) = row else { return Ok(None) };
        let corrupt = |what: &str| StateError::Corrupt { what: format!("session of token {token_id}: {what}") };
        let created = Timestamp::parse(&created_at).ok_or_else(|| corrupt("created_at"))?;
        let last_seen = Timestamp::parse(&last_seen_at).ok_or_else(|| corrupt("last_seen_at"))?;
        let live = now.0 - last_seen.0 <= limits.idle_seconds && now.0 - created.0 <= limits.max_seconds;
        let principal = if live { self.principal_by_id(token_id, now)? } else { None };
        match principal {
            None => {
                self.delete_session(id)?;
                Ok(None)
            }
            Some(p) => {
                if now.0 - last_seen.0 >= TOUCH_EVERY_SECONDS {
                    self.conn
                        .execute(
                            "UPDATE sessions SET last_seen_at = ?2 WHERE session_hash = ?1",
                            params![hash, now.to_string()],
                        )
                        .map_err(|e| self.db_err(e))?;
                }
                Ok(Some(p))
            }
        }
    }

    /// Ends a session (sign-out); ending an unknown one is not an error.
    pub fn delete_session(&mut self, id: &str) -> Result<(), StateError> {
        if let Some(hash) = session_hash(id) {
            self.conn.execute("DELETE FROM sessions WHERE session_hash = ?1", [hash]).map_err(|e| self.db_err(e))?;
        }
        Ok(())
    }

    /// Deletes every session that has ended by `now`; returns how many.
    pub fn expire_sessions(&mut self, now: Timestamp, limits: SessionLimits) -> Result<usize, StateError> {
        self.conn
            .execute(
                "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
                params![
                    Timestamp(now.0 - limits.idle_seconds).to_string(),
                    Timestamp(now.0 - limits.max_seconds).to_string()
                ],
            )
            .map_err(|e| self.db_err(e))
    }
}
