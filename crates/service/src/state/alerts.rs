//! Alerts raised by re-scores, kept after their run expires: written in the transaction that publishes
//! the run, read newest first by region with an id cursor.

use rusqlite::{params, Transaction};
use wagewatch_core::contract::{Date, RegionCode, RegionPrefix};
use wagewatch_core::features::EntityType;

use super::{StateError, Store, Timestamp};
use crate::runs::alerts::{AlertEvent, AlertKind};

/// A stored alert.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredAlert {
    pub alert_id: i64,
    pub run_id: String,
    pub as_of: Date,
    pub created_at: Timestamp,
    pub event: AlertEvent,
}

/// Queues one push per webhook that hears about one of a run's alerts, due at once, inside the
/// transaction that publishes it.
pub(super) fn enqueue(
    tx: &Transaction<'_>,
    run_id: &str,
    at: Timestamp,
    alerts: &[AlertEvent],
    webhooks: &[(String, RegionPrefix)],
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare(
        "INSERT INTO deliveries (run_id, webhook, status, attempts, next_attempt_at) VALUES (?1, ?2, 'pending', 0, ?3)",
    )?;
    for (name, region) in webhooks {
        if alerts.iter().any(|a| region.contains(a.region)) {
            stmt.execute(params![run_id, name, at.to_string()])?;
        }
    }
    Ok(())
}

/// The most alerts one push carries (the most urgent; a robot's message has a size limit anyway).
pub const MAX_PUSHED: usize = 200;

/// The most alerts of one run read back for a push.
const MAX_ALERTS_OF_RUN: usize = 100_000;

/// Where a push stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Every attempt failed: kept as the dead-letter record, with the last error.
    Dead,
}

impl DeliveryStatus {
    pub fn code(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
        }
    }

    fn parse(code: &str) -> Option<DeliveryStatus> {
        [DeliveryStatus::Pending, DeliveryStatus::Delivered, DeliveryStatus::Dead]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// One push of a run's alerts to one webhook.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub delivery_id: i64,
    pub run_id: String,
    pub webhook: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
}

/// Writes a run's alerts inside the transaction that publishes it.
pub(super) fn insert(
    tx: &Transaction<'_>,
    run_id: &str,
    as_of: Date,
    at: Timestamp,
    alerts: &[AlertEvent],
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare(
        "INSERT INTO alerts (run_id, as_of, created_at, kind, entity_type, entity_id, name, region_code, score,
         previous_score, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for a in alerts {
        stmt.execute(params![
            run_id,
            as_of.to_string(),
            at.to_string(),
            a.kind.code(),
            a.entity_type.code(),
            a.entity_id,
            a.name,
            a.region.to_string(),
            a.score,
            a.previous_score,
            a.detail,
        ])?;
    }
    Ok(())
}

impl Store {
    /// Every push, newest first (for operators and tests).
    pub fn deliveries(&self) -> Result<Vec<Delivery>, StateError> {
        self.deliveries_where("1 = 1 ORDER BY delivery_id DESC", params![])
    }

    /// The pending pushes due at `now`, oldest first.
    pub fn due_deliveries(&self, now: Timestamp) -> Result<Vec<Delivery>, StateError> {
        self.deliveries_where(
            "status = 'pending' AND next_attempt_at <= ?1 ORDER BY delivery_id",
            params![now.to_string()],
        )
    }

    fn deliveries_where(&self, clause: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Delivery>, StateError> {
        let sql = format!(
            "SELECT delivery_id, run_id, webhook, status, attempts, next_attempt_at, last_error FROM deliveries WHERE {clause}"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (delivery_id, run_id, webhook, status, attempts, next, last_error) = row.map_err(|e| self.db_err(e))?;
            let corrupt = || StateError::Corrupt { what: format!("delivery {delivery_id}") };
            out.push(Delivery {
                delivery_id,
                run_id,
                webhook,
                status: DeliveryStatus::parse(&status).ok_or_else(corrupt)?,
                attempts,
                next_attempt_at: Timestamp::parse(&next).ok_or_else(corrupt)?,
                last_error,
            });
        }
        Ok(out)
    }

    /// Deletes alerts raised before `before`, except those of a run whose push is still pending, and the
    /// pushes delivered or dead-lettered before it, in one transaction; returns how many of each.
    pub fn expire_alerts(&mut self, before: Timestamp) -> Result<(usize, usize), StateError> {
        let path = self.dir.join(super::DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let before = before.to_string();
        let tx = self.conn.transaction().map_err(db)?;
        let alerts = tx
            .execute(
                "DELETE FROM alerts WHERE created_at < ?1
                 AND run_id NOT IN (SELECT run_id FROM deliveries WHERE status = 'pending')",
                [&before],
            )
            .map_err(db)?;
        let pushes =
            tx.execute("DELETE FROM deliveries WHERE status <> 'pending' AND done_at < ?1", [&before]).map_err(db)?;
        tx.commit().map_err(db)?;
        Ok((alerts, pushes))
    }

    /// Records the outcome of one attempt: delivered, dead (the last attempt failed) or pending again at
    /// `next` with the error.
    pub fn record_attempt(
        &self,
        delivery_id: i64,
        status: DeliveryStatus,
        next: Timestamp,
        error: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StateError> {
        let done = (status != DeliveryStatus::Pending).then(|| now.to_string());
        self.conn
            .execute(
                "UPDATE deliveries SET status = ?2, attempts = attempts + 1, next_attempt_at = ?3, last_error = ?4,
                 done_at = ?5 WHERE delivery_id = ?1",
                params![delivery_id, status.code(), next.to_string(), error, done],
            )
            .map_err(|e| self.db_err(e))
            .map(|_| ())
    }

    /// The most urgent [`MAX_PUSHED`] alerts of one run in `region` (newly red first, then groups owed
    /// wages, rules fired, rises; the highest probability first within a kind), and how many it has there.
    pub fn run_alerts(&self, run_id: &str, region: RegionPrefix) -> Result<(Vec<StoredAlert>, usize), StateError> {
        let (mut out, _) = self.select_alerts(region, Some(run_id), None, MAX_ALERTS_OF_RUN)?;
        let total = out.len();
        let urgency = |k: AlertKind| match k {
            AlertKind::NewlyRed => 0,
            AlertKind::GroupOwedBeforeFestival => 1,
            AlertKind::RuleFired => 2,
            AlertKind::Rise => 3,
        };
        out.sort_by(|a, b| {
            urgency(a.event.kind).cmp(&urgency(b.event.kind)).then(b.event.score.total_cmp(&a.event.score))
        });
        out.truncate(MAX_PUSHED);
        Ok((out, total))
    }

    /// Up to `limit` alerts in `region`, newest first, older than the alert `before` when given; and
    /// whether there are more.
    pub fn alerts(
        &self,
        region: RegionPrefix,
        before: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<StoredAlert>, bool), StateError> {
        self.select_alerts(region, None, before, limit)
    }

    fn select_alerts(
        &self,
        region: RegionPrefix,
        run: Option<&str>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<StoredAlert>, bool), StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT alert_id, run_id, as_of, created_at, kind, entity_type, entity_id, name, region_code, score,
                 previous_score, detail FROM alerts
                 WHERE region_code >= ?1 AND region_code < ?2 AND alert_id < ?3 AND (?5 IS NULL OR run_id = ?5)
                 ORDER BY alert_id DESC LIMIT ?4",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map(
                // Codes are digits, and ':' sorts right after '9': [prefix, prefix + ':') is the prefix's range.
                params![
                    region.to_string(),
                    format!("{region}:"),
                    before.unwrap_or(i64::MAX),
                    limit.min(100_000) as i64 + 1,
                    run
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        [r.get::<_, String>(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?],
                        r.get::<_, f64>(9)?,
                        r.get::<_, Option<f64>>(10)?,
                        r.get::<_, String>(11)?,
                    ))
                },
            )
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (alert_id, run_id, [as_of, at, kind, t, id, name, region], score, previous_score, detail) =
                row.map_err(|e| self.db_err(e))?;
            let corrupt = || StateError::Corrupt { what: format!("alert {alert_id}") };
            out.push(StoredAlert {
                alert_id,
                run_id,
                as_of: Date::parse(&as_of).ok_or_else(corrupt)?,
                created_at: Timestamp::parse(&at).ok_or_else(corrupt)?,
                event: AlertEvent {
                    kind: AlertKind::parse(&kind).ok_or_else(corrupt)?,
                    entity_type: EntityType::parse(&t).ok_or_else(corrupt)?,
                    entity_id: id,
                    name,
                    region: RegionCode::parse(&region).ok_or_else(corrupt)?,
                    score,
                    previous_score,
                    detail,
                },
            });
        }
        let more = out.len() > limit;
        out.truncate(limit);
        Ok((out, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_and_finished_pushes_past_the_retention_go_pending_ones_stay() {
        // (run, raised at day) of each alert; (run, status, done at day) of each push; the alerts and
        // pushes left after expiring everything before day 100, by run.
        type Case<'a> =
            (&'a str, &'a [(&'a str, i64)], &'a [(&'a str, &'a str, Option<i64>)], &'a [&'a str], &'a [&'a str]);
        let check = |(case, alerts, pushes, alerts_left, pushes_left): Case<'_>| {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(dir.path()).unwrap();
            let day = |d: i64| Timestamp(1_800_000_000 + d * 86_400).to_string();
            for (run, at) in alerts {
                store
                    .conn
                    .execute(
                        "INSERT INTO alerts (run_id, as_of, created_at, kind, entity_type, entity_id, name, region_code,
                         score, detail) VALUES (?1, '2026-12-01', ?2, 'rise', 'employer', 'E1', 'n', '320102', 0.5, '')",
                        params![run, day(*at)],
                    )
                    .unwrap();
            }
            for (run, status, done) in pushes {
                store
                    .conn
                    .execute(
                        "INSERT INTO deliveries (run_id, webhook, status, next_attempt_at, done_at)
                         VALUES (?1, 'hook', ?2, ?3, ?4)",
                        params![run, status, day(0), done.map(day)],
                    )
                    .unwrap();
            }
            let expected = (alerts.len() - alerts_left.len(), pushes.len() - pushes_left.len());
            assert_eq!(store.expire_alerts(Timestamp(1_800_000_000 + 100 * 86_400)).unwrap(), expected, "{case}");
            let left = |sql: &str| -> Vec<String> {
                let mut stmt = store.conn.prepare(sql).unwrap();
                stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
            };
            assert_eq!(left("SELECT run_id FROM alerts ORDER BY alert_id"), *alerts_left, "{case}");
            assert_eq!(left("SELECT run_id FROM deliveries ORDER BY delivery_id"), *pushes_left, "{case}");
        };
        check(("nothing stored", &[], &[], &[], &[]));
        check((
            "old alerts go, recent ones stay",
            &[("a", 10), ("b", 99), ("c", 100), ("d", 400)],
            &[],
            &["c", "d"],
            &[],
        ));
        check((
            "an old run's alerts stay while its push is pending",
            &[("a", 10), ("b", 10)],
            &[("a", "pending", None), ("b", "delivered", Some(20))],
            &["a"],
            &["a"],
        ));
        check((
            "finished pushes go by when they finished",
            &[],
            &[
                ("a", "delivered", Some(99)),
                ("b", "dead", Some(50)),
                ("c", "dead", Some(150)),
                ("d", "delivered", Some(100)),
            ],
            &[],
            &["c", "d"],
        ));
    }
}
