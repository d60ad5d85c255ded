//! Per-caller rate limits: a fixed number of actions per window and key (a token's exports, a token's
//! re-scores, one address's failed sign-ins). Memory is bounded: a limiter keeps at most
//! [`MAX_KEYS`] keys and forgets the stalest when full.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys a limiter remembers at most.
pub const MAX_KEYS: usize = 4096;

/// At most `limit` actions per `window` for each key.
pub struct RateLimiter<K> {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// A limiter of `limit` actions per `window` (a `limit` of 0 refuses every action).
    pub fn new(limit: u32, window: Duration) -> RateLimiter<K> {
        RateLimiter { limit, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts an action of `key` at `now`: `Ok` when it is within the limit, else the seconds until the
    /// key's window ends.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), u64> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if !seen.contains_key(key) && seen.len() >= MAX_KEYS {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.window);
            if seen.len() >= MAX_KEYS {
                if let Some(stalest) = seen.iter().min_by_key(|(_, (start, _))| *start).map(|(k, _)| k.clone()) {
                    seen.remove(&stalest);
                }
            }
        }
        let entry = seen.entry(key.clone()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let left = self.window.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Whether `key` is over its limit now, without counting an action.
    pub fn exhausted(&self, key: &K, now: Instant) -> Option<u64> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let &(start, count) = seen.get(key)?;
        let elapsed = now.duration_since(start);
        (elapsed < self.window && count >= self.limit).then(|| self.window.saturating_sub(elapsed).as_secs().max(1))
    }

    /// How many keys are remembered.
    pub fn keys(&self) -> usize {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_window_with_bounded_memory() {
        let l = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(l.check(&1, t0), Ok(()));
        assert_eq!(l.check(&1, t0), Ok(()));
        assert_eq!(l.check(&1, t0 + Duration::from_secs(10)), Err(50));
        assert_eq!(l.exhausted(&1, t0 + Duration::from_secs(10)), Some(50));
        assert_eq!(l.check(&2, t0), Ok(()), "another key has its own count");
        assert_eq!(l.check(&1, t0 + Duration::from_secs(61)), Ok(()), "a new window");
        for k in 0..(MAX_KEYS as u64 * 3) {
            let _ = l.check(&k, t0);
        }
        assert!(l.keys() <= MAX_KEYS);
        let never = RateLimiter::new(0, Duration::from_secs(1));
        assert!(never.check(&"x", t0).is_err());
    }
}
