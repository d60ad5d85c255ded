//! The configured band floors ([`wagewatch_core::model::floors`]) applied to a run's rows, after the bands
//! the configuration sets.

use wagewatch_core::contract::Date;
use wagewatch_core::features::EntityType;
use wagewatch_core::ingest::tables::Dataset;
use wagewatch_core::model::floors::{BandFloor, FloorFacts};

use super::RunRow;

/// Raises each row's band to the strongest floor that holds for it as of `t`, recording that floor on the
/// row; rows already at or above it keep their band and record none.
pub fn apply(rows: &mut [RunRow], ds: &Dataset, t: Date, floors: &[BandFloor]) {
    if floors.is_empty() {
        return;
    }
    let facts = FloorFacts::as_of(ds, t);
    for r in rows.iter_mut() {
        let ix = match r.entity_type {
            EntityType::Employer => ds.employer_ids.get(&r.entity_id),
            EntityType::Project => ds.project_ids.get(&r.entity_id),
        };
        if let Some(floor) = ix.and_then(|ix| facts.raising(r.entity_type, ix as u32, r.band, floors)) {
            r.band = floor.at_least;
            r.floor = Some(floor);
        }
    }
}
