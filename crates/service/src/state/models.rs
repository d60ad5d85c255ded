//! The model registry: which model is the champion (what re-scores use), which is the challenger, and
//! each one's lineage (data fingerprint, training window, code version, parent) and figures on the dates it
//! was judged on, beside the champion's on the same dates. Promotions and rollbacks are rows of their own,
//! each in the transaction that changes the roles, so the history is the registry's.

use rusqlite::{params, OptionalExtension};
use wagewatch_core::champion::Standing;
use wagewatch_core::contract::Date;

use super::{StateError, Store, Timestamp};

/// A model's place in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelRole {
    Champion,
    Challenger,
    Retired,
}

impl ModelRole {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            ModelRole::Champion => "champion",
            ModelRole::Challenger => "challenger",
            ModelRole::Retired => "retired",
        }
    }

    fn parse(code: &str) -> Option<ModelRole> {
        [ModelRole::Champion, ModelRole::Challenger, ModelRole::Retired].into_iter().find(|r| r.code() == code)
    }
}

/// A registered model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRecord {
    pub model_id: String,
    pub role: ModelRole,
    /// The champion it was trained to replace.
    pub parent_model_id: Option<String>,
    pub data_fingerprint: String,
    pub trained_as_of: Date,
    /// The first and last as-of dates of its training panel.
    pub fit_from: Option<Date>,
    pub fit_to: Option<Date>,
    /// The wagewatch version that trained it.
    pub code_version: String,
    pub registered_at: Timestamp,
    /// Its figures on the dates it was judged on, and the champion's of that time on the same dates.
    pub standing: Option<Standing>,
    pub compared_with: Option<(String, Standing)>,
}

/// A change of champion.
#[derive(Clone, Debug, PartialEq)]
pub struct Promotion {
    pub at: Timestamp,
    /// `promote` or `rollback`.
    pub action: String,
    pub model_id: String,
    pub previous_champion: Option<String>,
    pub by: String,
}

/// The columns of a standing, in the order stored.
fn standing_params(s: Option<&Standing>) -> [Option<String>; 1] {
    [s.map(|s| s.dates.iter().map(Date::to_string).collect::<Vec<_>>().join(","))]
}

fn read_standing(
    dates: Option<String>,
    ap: (Option<f64>, Option<f64>),
    gap: (Option<f64>, Option<f64>),
    flags: Option<i64>,
) -> Option<Standing> {
    let dates: Vec<Date> = dates?.split(',').filter_map(Date::parse).collect();
    Some(Standing {
        dates,
        average_precision: [ap.0?, ap.1?],
        calibration_gap: [gap.0, gap.1],
        fairness_flags: flags? as usize,
    })
}

impl Store {
    /// Registers a model (updating a registration of the same id); a new challenger retires the previous
    /// one. A second champion is refused by the registry's unique index, never replaces the first.
    pub fn register_model(&mut self, m: &ModelRecord) -> Result<(), StateError> {
        let path = self.dir.join(super::DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let tx = self.conn.transaction().map_err(db)?;
        if m.role == ModelRole::Challenger {
            tx.execute(
                "UPDATE models SET role = 'retired' WHERE role = 'challenger' AND model_id <> ?1",
                [&m.model_id],
            )
            .map_err(db)?;
        }
        let s = m.standing.as_ref();
        let (vs_id, vs) = match &m.compared_with {
            Some((id, s)) => (Some(id.as_str()), Some(s)),
            None => (None, None),
        };
        tx.execute(
            "INSERT INTO models (model_id, role, parent_model_id, data_fingerprint, trained_as_of, fit_from,
             fit_to, code_version, registered_at, eval_dates, ap_employer, ap_project, gap_employer, gap_project,
             fairness_flags, vs_model_id, vs_ap_employer, vs_ap_project, vs_gap_employer, vs_gap_project,
             vs_fairness_flags)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
             ON CONFLICT (model_id) DO UPDATE SET role = excluded.role, parent_model_id = excluded.parent_model_id,
             data_fingerprint = excluded.data_fingerprint, trained_as_of = excluded.trained_as_of,
             fit_from = excluded.fit_from, fit_to = excluded.fit_to, code_version = excluded.code_version,
             registered_at = excluded.registered_at, eval_dates = excluded.eval_dates,
             ap_employer = excluded.ap_employer, ap_project = excluded.ap_project,
             gap_employer = excluded.gap_employer, gap_project = excluded.gap_project,
             fairness_flags = excluded.fairness_flags, vs_model_id = excluded.vs_model_id,
             vs_ap_employer = excluded.vs_ap_employer, vs_ap_project = excluded.vs_ap_project,
             vs_gap_employer = excluded.vs_gap_employer, vs_gap_project = excluded.vs_gap_project,
             vs_fairness_flags = excluded.vs_fairness_flags",
            params![
                m.model_id,
                m.role.code(),
                m.parent_model_id,
                m.data_fingerprint,
                m.trained_as_of.to_string(),
                m.fit_from.map(|d| d.to_string()),
                m.fit_to.map(|d| d.to_string()),
                m.code_version,
                m.registered_at.to_string(),
                standing_params(s)[0],
                s.map(|s| s.average_precision[0]),
                s.map(|s| s.average_precision[1]),
                s.and_then(|s| s.calibration_gap[0]),
                s.and_then(|s| s.calibration_gap[1]),
                s.map(|s| s.fairness_flags as i64),
                vs_id,
                vs.map(|s| s.average_precision[0]),
                vs.map(|s| s.average_precision[1]),
                vs.and_then(|s| s.calibration_gap[0]),
                vs.and_then(|s| s.calibration_gap[1]),
                vs.map(|s| s.fairness_flags as i64),
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    /// Every registered model: the champion, the challenger, then the retired, newest first.
    pub fn models(&self) -> Result<Vec<ModelRecord>, StateError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT * FROM models ORDER BY CASE role WHEN 'champion' THEN 0 WHEN 'challenger' THEN 1 ELSE 2 END,
                 registered_at DESC, model_id",
            )
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let f = |name: &str| r.get::<_, Option<f64>>(name);
                Ok((
                    (
                        r.get::<_, String>("model_id")?,
                        r.get::<_, String>("role")?,
                        r.get::<_, Option<String>>("parent_model_id")?,
                    ),
                    (r.get::<_, String>("data_fingerprint")?, r.get::<_, String>("trained_as_of")?),
                    (r.get::<_, Option<String>>("fit_from")?, r.get::<_, Option<String>>("fit_to")?),
                    (r.get::<_, String>("code_version")?, r.get::<_, String>("registered_at")?),
                    r.get::<_, Option<String>>("eval_dates")?,
                    (
                        (f("ap_employer")?, f("ap_project")?),
                        (f("gap_employer")?, f("gap_project")?),
                        r.get::<_, Option<i64>>("fairness_flags")?,
                    ),
                    r.get::<_, Option<String>>("vs_model_id")?,
                    (
                        (f("vs_ap_employer")?, f("vs_ap_project")?),
                        (f("vs_gap_employer")?, f("vs_gap_project")?),
                        r.get::<_, Option<i64>>("vs_fairness_flags")?,
                    ),
                ))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (
                (model_id, role, parent),
                (fingerprint, trained),
                (fit_from, fit_to),
                (code, at),
                dates,
                mine,
                vs_id,
                vs,
            ) = row.map_err(|e| self.db_err(e))?;
            let corrupt = |what: &str| StateError::Corrupt { what: format!("model {model_id}: {what}") };
            let date = |d: Option<String>| -> Result<Option<Date>, StateError> {
                d.map(|d| Date::parse(&d).ok_or_else(|| corrupt("a date"))).transpose()
            };
            let standing = read_standing(dates.clone(), mine.0, mine.1, mine.2);
            let compared_with = vs_id.and_then(|id| read_standing(dates, vs.0, vs.1, vs.2).map(|s| (id, s)));
            out.push(ModelRecord {
                role: ModelRole::parse(&role).ok_or_else(|| corrupt("role"))?,
                trained_as_of: Date::parse(&trained).ok_or_else(|| corrupt("trained_as_of"))?,
                fit_from: date(fit_from)?,
                fit_to: date(fit_to)?,
                registered_at: Timestamp::parse(&at).ok_or_else(|| corrupt("registered_at"))?,
                parent_model_id: parent,
                data_fingerprint: fingerprint,
                code_version: code,
                standing,
                compared_with,
                model_id,
            });
        }
        Ok(out)
    }

    /// The model re-scores use, if one was made champion.
    pub fn champion(&self) -> Result<Option<String>, StateError> {
        self.conn
            .query_row("SELECT model_id FROM models WHERE role = 'champion'", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.db_err(e))
    }

    /// Makes `model_id` the champion and retires the one before, recording who did it, in one
    /// transaction. The caller has applied the promotion rule.
    pub fn promote(&mut self, model_id: &str, by: &str) -> Result<Promotion, StateError> {
        self.change_champion(model_id, "promote", by, None)
    }

    /// [`Store::promote`], provided the champion is still `judged_with` when the transaction runs (a
    /// retraining or another promotion in between makes the comparison stale).
    pub fn promote_over(&mut self, model_id: &str, judged_with: &str, by: &str) -> Result<Promotion, StateError> {
        self.change_champion(model_id, "promote", by, Some(judged_with))
    }

    /// Makes the champion the current one was promoted over champion again (the current one retired); a
    /// second rollback goes one promotion further back, never forward.
    pub fn rollback(&mut self, by: &str) -> Result<Promotion, StateError> {
        let previous: Option<String> = self
            .conn
            .query_row(
                "SELECT previous_champion FROM promotions WHERE model_id = (SELECT model_id FROM models WHERE role = 'champion')
                 AND action = 'promote' AND previous_champion IS NOT NULL ORDER BY promotion_id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db_err(e))?;
        let previous = previous.ok_or_else(|| StateError::NoPreviousChampion)?;
        self.change_champion(&previous, "rollback", by, None)
    }

    fn change_champion(
        &mut self,
        model_id: &str,
        action: &str,
        by: &str,
        expected_champion: Option<&str>,
    ) -> Result<Promotion, StateError> {
        let path = self.dir.join(super::DB_FILE);
        let db = |source| StateError::Db { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db)?;
        let known: Option<String> = tx
            .query_row("SELECT role FROM models WHERE model_id = ?1", [model_id], |r| r.get(0))
            .optional()
            .map_err(db)?;
        if known.is_none() {
            return Err(StateError::UnknownModel { model_id: model_id.to_string() });
        }
        let previous: Option<String> = tx
            .query_row("SELECT model_id FROM models WHERE role = 'champion'", [], |r| r.get(0))
            .optional()
            .map_err(db)?;
        if previous.as_deref() == Some(model_id) {
            return Err(StateError::AlreadyChampion { model_id: model_id.to_string() });
        }
        if let Some(expected) = expected_champion.filter(|e| previous.as_deref() != Some(*e)) {
            return Err(StateError::ChampionChanged {
                model_id: model_id.to_string(),
                judged_with: expected.to_string(),
                champion: previous.unwrap_or_default(),
            });
        }
        tx.execute("UPDATE models SET role = 'retired' WHERE role = 'champion'", []).map_err(db)?;
        tx.execute("UPDATE models SET role = 'champion' WHERE model_id = ?1", [model_id]).map_err(db)?;
        let at = Timestamp::now();
        tx.execute(
            "INSERT INTO promotions (at, action, model_id, previous_champion, by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![at.to_string(), action, model_id, previous, by],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(Promotion {
            at,
            action: action.to_string(),
            model_id: model_id.to_string(),
            previous_champion: previous,
            by: by.to_string(),
        })
    }

    /// Every change of champion, newest first.
    pub fn promotions(&self) -> Result<Vec<Promotion>, StateError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, action, model_id, previous_champion, by FROM promotions ORDER BY promotion_id DESC")
            .map_err(|e| self.db_err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(|e| self.db_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (at, action, model_id, previous_champion, by) = row.map_err(|e| self.db_err(e))?;
            let at = Timestamp::parse(&at)
                .ok_or_else(|| StateError::Corrupt { what: format!("promotion of {model_id}") })?;
            out.push(Promotion { at, action, model_id, previous_champion, by });
        }
        Ok(out)
    }
}
