//! Request metrics in the Prometheus text format: counts by route and status, and a latency histogram
//! by route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 10.0];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// The server's request metrics.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
    /// Connections closed at once because the connection cap was reached.
    refused_connections: std::sync::atomic::AtomicU64,
}

impl Metrics {
    /// Counts one request.
    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats = match routes.get_mut(route) {
            Some(s) => s,
            None => routes.entry(route.to_string()).or_default(),
        };
        *stats.by_status.entry(status).or_default() += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                stats.buckets[i] += 1;
            }
        }
        stats.count += 1;
        stats.sum_seconds += seconds;
    }

    /// Counts a connection refused at the cap.
    pub fn refused_connection(&self) {
        self.refused_connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with `extra` gauges appended (name, help, value).
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let routes = self.routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP wagewatch_http_requests_total HTTP requests by route template and status.\n");
        out.push_str("# TYPE wagewatch_http_requests_total counter\n");
        for (route, s) in routes.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(out, "wagewatch_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
            }
        }
        out.push_str("# HELP wagewatch_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE wagewatch_http_request_duration_seconds histogram\n");
        for (route, s) in routes.iter() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "wagewatch_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "wagewatch_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "wagewatch_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", s.sum_seconds);
            let _ = writeln!(out, "wagewatch_http_request_duration_seconds_count{{route=\"{route}\"}} {}", s.count);
        }
        for (name, help, value) in extra {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        let refused = self.refused_connections.load(std::sync::atomic::Ordering::Relaxed);
        out.push_str("# HELP wagewatch_connections_refused_total Connections closed at once at the connection cap.\n");
        out.push_str("# TYPE wagewatch_connections_refused_total counter\n");
        let _ = writeln!(out, "wagewatch_connections_refused_total {refused}");
        out
    }
}
