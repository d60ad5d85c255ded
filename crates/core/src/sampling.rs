//! The audit slice drawn: in each district, a share of the inspection capacity goes to entities drawn at
//! random from the scored population, whatever their risk, so that the model is also judged on firms it did
//! not choose. The draw is stratified by band within the district (each band gets its share of the slice
//! by its share of the district's population, largest remainders first) and reproducible: the same
//! population, capacity, share and seed give the same slice, and a district's draw depends only on its
//! own entities.

use std::collections::BTreeMap;

use crate::contract::RegionCode;
use crate::features::EntityType;
use crate::model::Band;
use crate::rng::Rng;

/// One scored entity the slice may draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub entity_type: EntityType,
    pub entity_id: String,
    pub region: RegionCode,
    pub band: Band,
}

/// How big the slice is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SliceSize {
    /// Inspections a district makes in the period.
    pub inspections_per_district: u32,
    /// The share of them drawn at random (0..1).
    pub share: f64,
}

impl SliceSize {
    /// The entities drawn in a district: the share of its capacity, rounded, at most its population.
    pub fn per_district(&self, population: usize) -> usize {
        ((f64::from(self.inspections_per_district) * self.share).round() as usize).min(population)
    }
}

/// How many of `k` draws each band gets: proportional to its size, largest remainders first (ties to the
/// higher band).
fn allocate(sizes: &[usize; 4], k: usize) -> [usize; 4] {
    let total: usize = sizes.iter().sum();
    if total == 0 {
        return [0; 4];
    }
    let exact: Vec<f64> = sizes.iter().map(|&n| k as f64 * n as f64 / total as f64).collect();
    let mut out = [0usize; 4];
    for (o, e) in out.iter_mut().zip(&exact) {
        *o = e.floor() as usize;
    }
    let mut order: Vec<usize> = (0..4).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    let mut left = k - out.iter().sum::<usize>();
    for i in order {
        if left == 0 {
            break;
        }
        if out[i] < sizes[i] {
            out[i] += 1;
            left -= 1;
        }
    }
    out
}

/// Draws the audit slice: per district, [`SliceSize::per_district`] candidates, stratified by band and
/// drawn without replacement, from a stream seeded by `seed` and the district code. The result is in
/// district order, then band, then the order drawn.
pub fn draw(candidates: &[Candidate], size: SliceSize, seed: u64) -> Vec<Candidate> {
    let mut districts: BTreeMap<RegionCode, [Vec<&Candidate>; 4]> = BTreeMap::new();
    for c in candidates {
        districts.entry(c.region).or_default()[c.band as usize].push(c);
    }
    let mut out = Vec::new();
    for (region, mut bands) in districts {
        for band in bands.iter_mut() {
            // A draw that does not depend on the order the candidates came in.
            band.sort_by(|a, b| (a.entity_type, &a.entity_id).cmp(&(b.entity_type, &b.entity_id)));
        }
        let sizes = [bands[0].len(), bands[1].len(), bands[2].len(), bands[3].len()];
        let k = size.per_district(sizes.iter().sum());
        let mut rng = Rng::derive(seed, u64::from(region.value()), 0);
        for (band, take) in bands.iter_mut().zip(allocate(&sizes, k)) {
            // A partial Fisher-Yates shuffle: the first `take` are a uniform sample.
            for i in 0..take {
                let j = i + rng.index(band.len() - i);
                band.swap(i, j);
                out.push(band[i].clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn population() -> Vec<Candidate> {
        let mut out = Vec::new();
        for (region, n) in [(320102, 100), (320105, 40)] {
            for i in 0..n {
                let band = match i % 10 {
                    0 => Band::Red,
                    1 | 2 => Band::Orange,
                    3..=5 => Band::Yellow,
                    _ => Band::Green,
                };
                out.push(Candidate {
                    entity_type: if i % 4 == 0 { EntityType::Project } else { EntityType::Employer },
                    entity_id: format!("E{region}-{i}"),
                    region: RegionCode::from_value(region).unwrap(),
                    band,
                });
            }
        }
        out
    }

    #[track_caller]
    fn check(size: SliceSize, per_district: &[(u32, [usize; 4])]) {
        let drawn = draw(&population(), size, 7);
        for (region, bands) in per_district {
            for (b, want) in [Band::Red, Band::Orange, Band::Yellow, Band::Green].iter().zip(bands) {
                let got = drawn.iter().filter(|c| c.region.value() == *region && c.band == *b).count();
                assert_eq!(got, *want, "{region} {b:?}");
            }
        }
    }

    #[test]
    fn the_slice_is_stratified_by_band_within_each_district() {
        // 40 inspections, 25% random: 10 per district, split 1/2/3/4 like the bands.
        let size = SliceSize { inspections_per_district: 40, share: 0.25 };
        check(size, &[(320102, [1, 2, 3, 4]), (320105, [1, 2, 3, 4])]);
        // 7 draws of 40 (4 red, 8 orange, 12 yellow, 16 green): exact 0.7/1.4/2.1/2.8, floors 0/1/2/2,
        // the two largest remainders (0.8 green, 0.7 red) get one more.
        let size = SliceSize { inspections_per_district: 70, share: 0.1 };
        check(size, &[(320105, [1, 1, 2, 3])]);
        // A slice larger than a district takes all of it.
        let size = SliceSize { inspections_per_district: 1000, share: 1.0 };
        check(size, &[(320105, [4, 8, 12, 16])]);
    }

    #[test]
    fn the_draw_is_reproducible_and_depends_on_the_seed_only() {
        let size = SliceSize { inspections_per_district: 40, share: 0.25 };
        let a = draw(&population(), size, 7);
        let mut shuffled = population();
        shuffled.reverse();
        assert_eq!(a, draw(&shuffled, size, 7), "the input order does not matter");
        assert_ne!(a, draw(&population(), size, 8));
        let mut ids: Vec<&str> = a.iter().map(|c| c.entity_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), a.len(), "drawn without replacement");
        // A district's draw does not change when another district's population does.
        let only_one: Vec<Candidate> = population().into_iter().filter(|c| c.region.value() == 320105).collect();
        let alone: Vec<Candidate> = draw(&only_one, size, 7);
        let within: Vec<Candidate> = a.into_iter().filter(|c| c.region.value() == 320105).collect();
        assert_eq!(alone, within);
    }
}
