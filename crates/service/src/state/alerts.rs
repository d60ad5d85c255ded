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
    /// Up to `limit` alerts in `region`, newest first, older than the alert `before` when given; and
    /// whether there are more.
    pub fn alerts(
        &self,
        region: RegionPrefix,
        before: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<StoredAlert>, bool), StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT alert_id, run_id, as_of, created_at, kind, entity_type, entity_id, name, region_code, score,
                 previous_score, detail FROM alerts
                 WHERE substr(region_code, 1, ?1) = ?2 AND alert_id < ?3 ORDER BY alert_id DESC LIMIT ?4",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map(
                params![region.digits(), region.to_string(), before.unwrap_or(i64::MAX), limit as i64 + 1],
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
