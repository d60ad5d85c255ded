//! Per-caller rate limits: a fixed number of actions per window and key (a token's exports, a token's
//! re-scores, one address's failed sign-ins). Memory is bounded: a limiter keeps at most
//! [`MAX_KEYS`] keys and forgets the stalest when full. And a cap on the connections one client address
//! holds open at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
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

/// Open connections by client address, each address capped. Only addresses with a connection open are
/// held, so memory is bounded by the connection cap.
pub struct ConnectionsByAddress {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection; dropping it (the connection ended) frees its place.
pub struct AddressPermit {
    connections: Arc<ConnectionsByAddress>,
    address: IpAddr,
}

impl ConnectionsByAddress {
    /// At most `max` open connections per address.
    pub fn new(max: usize) -> Arc<ConnectionsByAddress> {
        Arc::new(ConnectionsByAddress { max, open: Mutex::new(HashMap::new()) })
    }

    /// Admits one more connection from `address`, or `None` when it holds `max` already. IPv6 clients
    /// are counted by their /64 (one subscriber's block: taking another address in it is free), and
    /// IPv4-mapped IPv6 addresses as the IPv4 address.
    pub fn admit(self: &Arc<Self>, address: IpAddr) -> Option<AddressPermit> {
        let address = client_of(address);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(address).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressPermit { connections: self.clone(), address })
    }
}

/// The address connections are counted under.
fn client_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

impl Drop for AddressPermit {
    fn drop(&mut self) {
        let mut open = self.connections.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_holds_at_most_its_share_of_connections() {
        let connections = ConnectionsByAddress::new(2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = connections.admit(a).unwrap();
        let _second = connections.admit(a).unwrap();
        assert!(connections.admit(a).is_none(), "a third from one address");
        assert!(connections.admit(b).is_some(), "another address is not held back");
        drop(first);
        assert!(connections.admit(a).is_some(), "a place freed when a connection ends");
        drop(_second);
        assert!(connections.open.lock().unwrap().get(&a).is_none_or(|&n| n <= 1));
        // One IPv6 /64 is one client; an IPv4-mapped address is its IPv4 address.
        let in_block = |last: &str| format!("2001:db8:1:2::{last}").parse::<IpAddr>().unwrap();
        let _p = (connections.admit(in_block("1")).unwrap(), connections.admit(in_block("ffff:2")).unwrap());
        assert!(connections.admit(in_block("abcd:3")).is_none(), "a third address in the same /64");
        assert!(connections.admit("2001:db8:1:3::1".parse().unwrap()).is_some(), "the next /64");
        let _q = (connections.admit("::ffff:10.0.0.2".parse().unwrap()).unwrap(), connections.admit(b).unwrap());
        assert!(connections.admit(b).is_none(), "10.0.0.2 holds two already, one of them IPv4-mapped");
    }

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
