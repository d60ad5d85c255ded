//! The synthetic province's entities and their latent state: employers, owners (developers), projects, work
//! crews with their workers, outstanding arrears, and the rows of the small tables collected during the run.
//!
//! `World::new` builds the province as it stands on the first simulated day; `step.rs` moves it month by month;
//! `World::write_small_tables` writes the tables kept in memory once the run is over.

use std::path::Path;

use wagewatch_core::contract::{
    Category, Channel, Date, EmployerKind, Money, Month, Outcome, RegionCode, Sector, Selection, Table,
};

use super::names::{self, City, IdCard, IdCardFactory};
use super::writer::{Cell, TableWriter};
use super::{MonthStats, OutputFormat, SynthConfig, SynthError};
use wagewatch_core::rng::{sigmoid, Rng};

/// Stream tags for `Rng::derive`, so each entity kind draws from its own streams.
pub(super) mod stream {
    pub const WORLD: u64 = 1;
    pub const EMPLOYER: u64 = 2;
    pub const OWNER: u64 = 3;
    pub const PROJECT: u64 = 4;
    pub const IDS: u64 = 5;
    pub const EVENTS: u64 = 6;
    pub const AUDIT: u64 = 7;
}

/// Projects started per month per employer: 0.75 projects per employer over 75 months of starts (the
/// simulated 51 months plus the 24 months whose projects are typically still running at the start).
pub(super) const PROJECTS_PER_EMPLOYER_MONTH: f64 = 0.0100;

/// One employer with its latent state.
pub(super) struct Employer {
    pub id: String,
    pub name: String,
    pub kind: EmployerKind,
    pub sector: Sector,
    pub city: usize,
    pub region: RegionCode,
    pub registered_capital: Option<Money>,
    pub founded_on: Option<Date>,
    /// The first wage month in which the firm can have workers (the month after founding).
    pub operating_from: Month,
    pub blacklisted_on: Option<Date>,
    /// Persistent quality: the level the financial health reverts to.
    pub quality: f64,
    /// Latent financial health this month (standard units; below about -2 the firm is in real trouble).
    pub health: f64,
    /// Consecutive months of very weak health (a firm that stays there closes).
    pub weak_months: u32,
    /// Size scale: headcount for non-construction firms, bidding weight for general contractors.
    pub size: f64,
    /// Agreed payday, day of the month following the wage month.
    pub payday: u32,
    /// Evades wages on purpose (malicious arrears): short-pays more, repays less, ends in criminal referrals.
    pub malicious: bool,
    /// Keeps its arrears off its books (half of the malicious firms): a worker-month it short-pays is left
    /// out of its payroll and payments, so that only complaints and inspections reveal it.
    pub hides_arrears: bool,
    /// Pays crews through a foreman: one worker receives the team's wages.
    pub foreman_pays: bool,
    /// Defers part of the wages before the festival to a lump settlement just before it.
    pub festival_settlement: bool,
    /// The wage month in which the firm stopped operating, if it did.
    pub exited: Option<Month>,
    /// Closing this month: `Some(true)` when the boss absconds without paying the month's wages.
    pub closing: Option<bool>,
    /// Active crews (indexes into `World::crews`).
    pub crews: Vec<u32>,
    /// Outstanding worker-month shortfalls.
    pub arrears: Vec<Arrear>,
    /// From this date an authority has ordered the firm to pay its arrears.
    pub enforced_from: Option<Date>,
    /// Dates of group incidents (for blacklisting after repeats).
    pub incidents: Vec<Date>,
    /// Chain stress felt this month (construction), for health and short-pay hazard.
    pub squeeze: f64,
    pub rng: Rng,
}

impl Employer {
    pub fn is_construction(&self) -> bool {
        self.sector == Sector::Construction
    }

    /// Whether the firm can employ anyone in wage month `m`.
    pub fn operating(&self, m: Month) -> bool {
        m >= self.operating_from && self.exited.is_none_or(|x| m < x)
    }

    pub fn blacklisted_by(&self, date: Date) -> bool {
        self.blacklisted_on.is_some_and(|b| b <= date)
    }

    /// Blacklists the firm on `date` unless it already is.
    pub fn blacklist(&mut self, date: Date) {
        if self.blacklisted_on.is_none_or(|b| b > date) {
            self.blacklisted_on = Some(date);
        }
    }
}

/// A developer or public client (建设单位) who pays general contractors; not an employer.
pub(super) struct Owner {
    pub id: String,
    pub government: bool,
    pub city: usize,
    pub quality: f64,
    pub health: f64,
    /// Weight in winning new projects (a few large developers build a lot).
    pub weight: f64,
    /// The wage month until which the owner is in deep trouble (unless the trouble is permanent).
    pub crisis_until: Option<Month>,
    pub crisis_permanent: bool,
    pub rng: Rng,
}

impl Owner {
    pub fn in_crisis(&self, m: Month) -> bool {
        self.crisis_permanent || self.crisis_until.is_some_and(|u| m <= u)
    }
}

/// A construction project.
pub(super) struct Project {
    pub id: String,
    pub name: String,
    pub city: usize,
    pub region: RegionCode,
    pub gc: u32,
    pub owner: u32,
    pub contract_fen: i64,
    pub start: Date,
    pub planned_end: Date,
    /// The real completion date once reached (written only when on or before the run's end).
    pub actual_end: Option<Date>,
    pub government: bool,
    pub wage_account: bool,
    pub deposit: Option<Money>,
    /// Months the work takes at full pace (planned duration times the project's built-in lateness).
    pub work_months: f64,
    /// Share of the work done, 0..=1.
    pub progress: f64,
    /// Headcount at the busiest phase.
    pub peak_workers: f64,
    /// Progress billed quarterly instead of monthly.
    pub quarterly: bool,
    /// Work done but not billed yet (quarterly billing).
    pub unbilled: f64,
    /// Crews working on the project (indexes into `World::crews`).
    pub crews: Vec<u32>,
    /// Owner's overdue instalments, in months of normal billing (cap 6), as of the current pay window.
    pub overdue_months: f64,
    /// Completed, or stalled for good after its general contractor closed: no more work or billing.
    pub finished: bool,
}

impl Project {
    /// The monthly instalment at normal pace, the unit in which overdue amounts are measured.
    pub fn monthly_bill_fen(&self) -> f64 {
        0.85 * self.contract_fen as f64 / self.work_months.max(1.0)
    }
}

/// A group of workers of one employer on one project (or at the employer's own site).
pub(super) struct Crew {
    pub employer: u32,
    pub project: Option<u32>,
    /// Share of the project's workforce (construction) or base headcount (others).
    pub share: f64,
    pub workers: Vec<Worker>,
    pub open: bool,
    /// The last wage month in which a complaint was raised about this crew.
    pub last_complaint: Option<Month>,
    /// Months left in the crew's current arrears episode (0: paying normally).
    pub episode_left: u8,
}

/// A worker on a crew's roster.
#[derive(Clone, Copy)]
pub(super) struct Worker {
    pub id: IdCard,
    /// Agreed wage for a full month (26 days) at hire, in fen.
    pub monthly_fen: i64,
    /// Whether the employer owes this worker wages (they are likelier to leave).
    pub owed: bool,
    /// The wage month of hire.
    pub hired: Month,
}

/// A worker-month not (fully) paid.
pub(super) struct Arrear {
    pub worker: IdCard,
    pub crew: u32,
    pub project: Option<u32>,
    pub period: Month,
    pub due: Date,
    pub wage_due: i64,
    pub paid: i64,
    /// Whether the worker-month is currently counted as short in the month statistics.
    pub counted_short: bool,
    /// Left out of the firm's books ([`Employer::hides_arrears`]): its repayments are not recorded either.
    pub hidden: bool,
}

impl Arrear {
    pub fn remaining(&self) -> i64 {
        (self.wage_due - self.paid).max(0)
    }
}

/// An instalment of the owner to the general contractor.
pub(super) struct Instalment {
    pub project: u32,
    pub scheduled_on: Date,
    pub amount_due: i64,
    pub paid_on: Option<Date>,
    pub amount_paid: Option<i64>,
    /// Whether the owner has decided about paying on time (late ones stay open until paid).
    pub decided: bool,
}

/// A complaint row.
pub(super) struct Complaint {
    pub received_on: Date,
    pub employer: Option<u32>,
    pub project: Option<u32>,
    pub channel: Channel,
    pub category: Category,
    pub workers: u32,
    pub amount_claimed: Option<i64>,
    pub closed_on: Option<Date>,
    pub outcome: Option<Outcome>,
}

/// An inspection row.
pub(super) struct Inspection {
    pub inspected_on: Date,
    pub employer: u32,
    pub project: Option<u32>,
    pub found: bool,
    pub amount: Option<i64>,
    pub workers: Option<u32>,
    /// Why the firm was inspected: `Random` (the audit slice), `Complaint` or `Routine`.
    pub selection: Selection,
}

/// Province-wide conditions.
pub(super) struct Macro {
    /// Real-estate stress, about 0..1.5: drives developers into trouble.
    pub property: f64,
    /// Manufacturing demand cycle, around 0.
    pub manufacturing: f64,
    /// Consumer services cycle, around 0.
    pub services: f64,
    /// Fiscal stress of each city's government, around 0.
    pub city_fiscal: Vec<f64>,
}

/// A worker between jobs, who may be hired by another construction crew next month.
#[derive(Clone, Copy)]
pub(super) struct PooledWorker {
    pub id: IdCard,
    pub monthly_fen: i64,
}

/// The whole province.
pub(super) struct World {
    pub seed: u64,
    pub scenario: super::Scenario,
    pub end: Date,
    pub first_period: Month,
    pub cities: Vec<City>,
    pub employers: Vec<Employer>,
    pub general_contractors: Vec<u32>,
    pub subcontractors: Vec<u32>,
    pub owners: Vec<Owner>,
    pub projects: Vec<Project>,
    /// Project draws attempted so far: the stream index of the next project (pre-start draws may be discarded).
    pub project_draws: u64,
    pub crews: Vec<Crew>,
    pub instalments: Vec<Instalment>,
    /// Instalments not yet settled (indexes into `instalments`).
    pub open_instalments: Vec<u32>,
    pub complaints: Vec<Complaint>,
    pub inspections: Vec<Inspection>,
    pub ids: IdCardFactory,
    pub id_rng: Rng,
    pub rng: Rng,
    pub events: Rng,
    /// The audit slice's own draws, so that drawing it changes no other draw.
    pub audit: Rng,
    pub macro_state: Macro,
    pub pool: Vec<PooledWorker>,
    pub next_pool: Vec<PooledWorker>,
    pub stats: Vec<MonthStats>,
}

/// Kind quotas: (kind, sector, share of employers).
const KIND_SHARES: [(EmployerKind, Sector, f64); 7] = [
    (EmployerKind::GeneralContractor, Sector::Construction, 0.08),
    (EmployerKind::Subcontractor, Sector::Construction, 0.25),
    (EmployerKind::LaborService, Sector::Construction, 0.17),
    (EmployerKind::Manufacturer, Sector::Manufacturing, 0.30),
    (EmployerKind::Service, Sector::Services, 0.12),
    (EmployerKind::Other, Sector::Transport, 0.04),
    (EmployerKind::Other, Sector::Other, 0.04),
];

impl World {
    /// Builds the province as it stands at `config.start`.
    pub fn new(config: &SynthConfig, first_period: Month, periods: usize) -> World {
        let seed = config.seed;
        let mut rng = Rng::derive(seed, stream::WORLD, 0);
        let cities = names::province();
        let city_weights: Vec<f64> = cities.iter().map(|c| c.weight).collect();
        let kinds = kind_quotas(config.employers, &mut rng);

        let mut employers = Vec::with_capacity(config.employers);
        for (i, &(kind, sector)) in kinds.iter().enumerate() {
            employers.push(new_employer(seed, i, kind, sector, &cities, &city_weights, config));
        }
        let general_contractors: Vec<u32> = (0..employers.len() as u32)
            .filter(|&i| employers[i as usize].kind == EmployerKind::GeneralContractor)
            .collect();
        let subcontractors: Vec<u32> = (0..employers.len() as u32)
            .filter(|&i| matches!(employers[i as usize].kind, EmployerKind::Subcontractor | EmployerKind::LaborService))
            .collect();

        let owner_count = (config.employers / 15).max(3);
        let owners = (0..owner_count).map(|i| new_owner(seed, i, &city_weights)).collect();

        let mut world = World {
            scenario: config.scenario,
            seed,
            end: config.end,
            first_period,
            cities,
            employers,
            general_contractors,
            subcontractors,
            owners,
            projects: Vec::new(),
            project_draws: 0,
            crews: Vec::new(),
            instalments: Vec::new(),
            open_instalments: Vec::new(),
            complaints: Vec::new(),
            inspections: Vec::new(),
            ids: IdCardFactory::new(seed),
            id_rng: Rng::derive(seed, stream::IDS, 0),
            rng,
            events: Rng::derive(seed, stream::EVENTS, 0),
            audit: Rng::derive(seed, stream::AUDIT, 0),
            macro_state: Macro { property: 0.7, manufacturing: 0.0, services: 0.0, city_fiscal: vec![0.0; 13] },
            pool: Vec::new(),
            next_pool: Vec::new(),
            stats: (0..periods)
                .map(|k| MonthStats {
                    month: first_period.plus_months(k as i32),
                    worker_months: 0,
                    construction_worker_months: 0,
                    short_paid_worker_months: 0,
                    owed_fen: 0,
                    complaints: 0,
                    group_incidents: 0,
                    inspections: 0,
                })
                .collect(),
        };
        world.open_non_construction_sites();
        world.seed_running_projects(first_period);
        world
    }

    /// Non-construction employers work at their own site: one crew each, with no project.
    fn open_non_construction_sites(&mut self) {
        for e in 0..self.employers.len() {
            if self.employers[e].is_construction() {
                continue;
            }
            let crew = self.crews.len() as u32;
            let size = self.employers[e].size;
            self.crews.push(Crew {
                employer: e as u32,
                project: None,
                share: size,
                workers: Vec::new(),
                open: true,
                last_complaint: None,
                episode_left: 0,
            });
            self.employers[e].crews.push(crew);
        }
    }

    /// Projects that started in the three years before the run and are still under way at its start.
    fn seed_running_projects(&mut self, first_period: Month) {
        let rate = PROJECTS_PER_EMPLOYER_MONTH * self.employers.len() as f64;
        for back in (1..=36).rev() {
            let month = first_period.plus_months(-back);
            let n = self.rng.poisson(rate);
            for _ in 0..n {
                let day = month.first_day().add_days(self.rng.index(28) as i32);
                let months_ago = f64::from(first_period.index() - month.index());
                self.start_project(day, first_period, months_ago);
            }
        }
    }

    /// Awards and starts a project on `day`. A project started `months_ago` months before the run (at full
    /// pace) starts with that share of its work done, and is dropped if it would already be finished.
    pub fn start_project(&mut self, day: Date, m: Month, months_ago: f64) {
        let index = self.projects.len() as u32;
        let mut prng = Rng::derive(self.seed, stream::PROJECT, self.project_draws);
        self.project_draws += 1;
        let contract_yuan = prng.lognormal((60.0e6f64).ln(), 1.0).clamp(5.0e6, 8.0e8);
        let scale = contract_yuan / 60.0e6;
        let (planned_months, lateness) = planned_months_draw(&mut prng);
        let planned_months = (planned_months * scale.powf(0.12)).clamp(12.0, 36.0).round();
        let work_months = planned_months * lateness;
        let progress = months_ago / work_months;
        if progress >= 0.97 {
            return;
        }
        let Some(gc) = self.pick_general_contractor(&mut prng, day, m) else {
            return;
        };
        let gc_city = self.employers[gc as usize].city;
        let city = if prng.bernoulli(0.78) {
            gc_city
        } else {
            prng.weighted(&self.cities.iter().map(|c| c.weight).collect::<Vec<_>>())
        };
        let owner = self.pick_owner(&mut prng, city, m);
        let government = self.owners[owner as usize].government;
        let districts = &self.cities[city].districts;
        let region = districts[prng.index(districts.len())];
        let contract_fen = (contract_yuan / 10_000.0).round() as i64 * 1_000_000;
        let peak_workers = (70.0 * scale.powf(0.45) * prng.lognormal(0.0, 0.3)).clamp(20.0, 300.0);
        let gc_quality = self.employers[gc as usize].quality;
        let wage_account = prng.bernoulli(sigmoid(1.9 + 0.9 * gc_quality));
        let deposit = prng.bernoulli(sigmoid(0.9 + 0.7 * gc_quality)).then(|| {
            let share = prng.range(0.01, 0.03);
            Money::from_fen(((contract_yuan * share / 1000.0).round() as i64).max(1) * 100_000)
        });
        let start = day;
        let planned_end = start.add_days((planned_months * 30.44).round() as i32);
        let name = names::project_name(&mut prng, self.cities[city].name, government);
        let project = Project {
            id: format!("PJ{region}{:05}", index + 1),
            name,
            city,
            region,
            gc,
            owner,
            contract_fen,
            start,
            planned_end,
            actual_end: None,
            government,
            wage_account,
            deposit,
            work_months,
            progress,
            peak_workers,
            quarterly: prng.bernoulli(0.4),
            unbilled: 0.0,
            crews: Vec::new(),
            overdue_months: 0.0,
            finished: false,
        };
        self.projects.push(project);
        // The general contractor employs some workers directly; 1-4 subcontractors or labour services the rest.
        let gc_share = prng.range(0.08, 0.22);
        self.add_crew(gc, index, gc_share);
        let n_subs = 1 + prng.poisson(1.0).min(3) as usize;
        let mut weights: Vec<f64> = (0..n_subs).map(|_| prng.lognormal(0.0, 0.5)).collect();
        let total: f64 = weights.iter().sum();
        for w in &mut weights {
            *w *= (1.0 - gc_share) / total;
        }
        for w in weights {
            if let Some(sub) = self.pick_subcontractor(&mut prng, index, m, day) {
                self.add_crew(sub, index, w);
            } else {
                // No subcontractor available: the general contractor takes the work on.
                self.add_crew(gc, index, w);
            }
        }
    }

    /// Adds a crew of `employer` to `project` with the given workforce share (merging into an existing one).
    pub fn add_crew(&mut self, employer: u32, project: u32, share: f64) {
        let existing = self.projects[project as usize]
            .crews
            .iter()
            .copied()
            .find(|&c| self.crews[c as usize].employer == employer && self.crews[c as usize].open);
        if let Some(c) = existing {
            self.crews[c as usize].share += share;
            return;
        }
        let crew = self.crews.len() as u32;
        self.crews.push(Crew {
            employer,
            project: Some(project),
            share,
            workers: Vec::new(),
            open: true,
            last_complaint: None,
            episode_left: 0,
        });
        self.projects[project as usize].crews.push(crew);
        self.employers[employer as usize].crews.push(crew);
    }

    /// General contractors win bids by size and health; blacklisted ones rarely.
    fn pick_general_contractor(&mut self, rng: &mut Rng, day: Date, m: Month) -> Option<u32> {
        let weights: Vec<f64> = self
            .general_contractors
            .iter()
            .map(|&g| {
                let e = &self.employers[g as usize];
                if !e.operating(m) {
                    return 0.0;
                }
                let black = if e.blacklisted_by(day) { 0.12 } else { 1.0 };
                e.size * (0.8 * e.health).exp() * black
            })
            .collect();
        if weights.iter().all(|w| *w <= 0.0) {
            return None;
        }
        Some(self.general_contractors[rng.weighted(&weights)])
    }

    fn pick_owner(&mut self, rng: &mut Rng, city: usize, m: Month) -> u32 {
        let local = rng.bernoulli(0.65);
        let weights: Vec<f64> = self
            .owners
            .iter()
            .map(|o| {
                let here = if local && o.city != city { 0.0 } else { 1.0 };
                // Owners already in trouble start few new projects.
                let trouble = if o.in_crisis(m) { 0.15 } else { 1.0 };
                o.weight * here * trouble
            })
            .collect();
        let i = if weights.iter().any(|w| *w > 0.0) { rng.weighted(&weights) } else { rng.index(self.owners.len()) };
        i as u32
    }

    /// Subcontractors are chosen near the site, spread over firms, healthier ones preferred.
    pub fn pick_subcontractor(&mut self, rng: &mut Rng, project: u32, m: Month, day: Date) -> Option<u32> {
        let p = &self.projects[project as usize];
        let weights: Vec<f64> = self
            .subcontractors
            .iter()
            .map(|&s| {
                let e = &self.employers[s as usize];
                if !e.operating(m) {
                    return 0.0;
                }
                if p.crews.iter().any(|&c| self.crews[c as usize].employer == s) {
                    return 0.0;
                }
                let near = if e.city == p.city { 4.0 } else { 0.35 };
                let black = if e.blacklisted_by(day) { 0.3 } else { 1.0 };
                let busy = 1.0 / (1.0 + e.crews.len() as f64).powi(2);
                near * black * busy * (0.4 * e.health).exp()
            })
            .collect();
        if weights.iter().all(|w| *w <= 0.0) {
            return None;
        }
        Some(self.subcontractors[rng.weighted(&weights)])
    }

    /// Writes the tables kept in memory: employers, projects, complaints, progress payments, inspections.
    pub fn write_small_tables(&self, dir: &Path, format: OutputFormat) -> Result<Vec<(Table, u64)>, SynthError> {
        let mut rows = Vec::new();
        let end = self.end;
        let upto = |d: Option<Date>| d.filter(|d| *d <= end);

        let mut w = TableWriter::create(dir, Table::Employers, format)?;
        for e in &self.employers {
            w.push(&[
                Cell::Str(&e.id),
                Cell::Str(&e.name),
                Cell::Str(e.kind.code()),
                Cell::Str(e.sector.code()),
                Cell::Str(&e.region.to_string()),
                Cell::opt_money(e.registered_capital),
                Cell::opt_date(e.founded_on),
                Cell::opt_date(upto(e.blacklisted_on)),
            ])?;
        }
        rows.push((Table::Employers, w.finish()?));

        let mut w = TableWriter::create(dir, Table::Projects, format)?;
        for p in &self.projects {
            w.push(&[
                Cell::Str(&p.id),
                Cell::Str(&p.name),
                Cell::Str(&p.region.to_string()),
                Cell::Str(&self.employers[p.gc as usize].id),
                Cell::Str(&self.owners[p.owner as usize].id),
                Cell::Money(Money::from_fen(p.contract_fen)),
                Cell::Date(p.start),
                Cell::Date(p.planned_end),
                Cell::opt_date(upto(p.actual_end)),
                Cell::Bool(p.government),
                Cell::Bool(p.wage_account),
                Cell::opt_money(p.deposit),
            ])?;
        }
        rows.push((Table::Projects, w.finish()?));

        // Complaints and inspections are numbered in date order, so ids read like a register.
        let mut order: Vec<usize> = (0..self.complaints.len()).collect();
        order.sort_by_key(|&i| (self.complaints[i].received_on, i));
        let mut w = TableWriter::create(dir, Table::Complaints, format)?;
        for (n, &i) in order.iter().enumerate() {
            let c = &self.complaints[i];
            let id = format!("TS{}{:07}", c.received_on.ymd().0, n + 1);
            w.push(&[
                Cell::Str(&id),
                Cell::Date(c.received_on),
                Cell::opt_str(c.employer.map(|e| self.employers[e as usize].id.as_str())),
                Cell::opt_str(c.project.map(|p| self.projects[p as usize].id.as_str())),
                Cell::Str(c.channel.code()),
                Cell::Str(c.category.code()),
                Cell::Int(i64::from(c.workers.max(1))),
                Cell::opt_money(c.amount_claimed.map(Money::from_fen)),
                Cell::opt_date(c.closed_on),
                Cell::opt_str(c.outcome.map(Outcome::code)),
            ])?;
        }
        rows.push((Table::Complaints, w.finish()?));

        let mut order: Vec<usize> = (0..self.instalments.len()).collect();
        order.sort_by_key(|&i| (self.instalments[i].project, self.instalments[i].scheduled_on, i));
        let mut w = TableWriter::create(dir, Table::ProgressPayments, format)?;
        for &i in &order {
            let s = &self.instalments[i];
            w.push(&[
                Cell::Str(&self.projects[s.project as usize].id),
                Cell::Date(s.scheduled_on),
                Cell::Money(Money::from_fen(s.amount_due)),
                Cell::opt_date(s.paid_on),
                Cell::opt_money(s.amount_paid.map(Money::from_fen)),
            ])?;
        }
        rows.push((Table::ProgressPayments, w.finish()?));

        let mut order: Vec<usize> = (0..self.inspections.len()).collect();
        order.sort_by_key(|&i| (self.inspections[i].inspected_on, i));
        let mut w = TableWriter::create(dir, Table::Inspections, format)?;
        for (n, &i) in order.iter().enumerate() {
            let s = &self.inspections[i];
            let id = format!("JC{}{:06}", s.inspected_on.ymd().0, n + 1);
            w.push(&[
                Cell::Str(&id),
                Cell::Str(&self.employers[s.employer as usize].id),
                Cell::opt_str(s.project.map(|p| self.projects[p as usize].id.as_str())),
                Cell::Date(s.inspected_on),
                Cell::Bool(s.found),
                Cell::opt_money(s.amount.map(Money::from_fen)),
                Cell::opt_int(s.workers.map(i64::from)),
                Cell::Str(s.selection.code()),
            ])?;
        }
        rows.push((Table::Inspections, w.finish()?));

        // The names of the province's divisions (contract v1.1), as GB/T 2260 has them.
        let mut w = TableWriter::create(dir, Table::Regions, format)?;
        for (code, name) in wagewatch_core::regions::divisions() {
            w.push(&[Cell::Str(&code.to_string()), Cell::Str(name)])?;
        }
        rows.push((Table::Regions, w.finish()?));
        Ok(rows)
    }
}

/// Planned duration in months (before scaling by contract value) and the project's built-in lateness factor.
fn planned_months_draw(rng: &mut Rng) -> (f64, f64) {
    let planned = (20.0 * rng.lognormal(0.0, 0.25)).clamp(12.0, 36.0);
    let lateness = if rng.bernoulli(0.55) { 1.0 } else { 1.0 + rng.exponential(0.18) };
    (planned, lateness.min(1.8))
}

/// Assigns kinds by quota (so small provinces still get every kind), in a seeded random order.
fn kind_quotas(n: usize, rng: &mut Rng) -> Vec<(EmployerKind, Sector)> {
    let mut counts: Vec<usize> = KIND_SHARES.iter().map(|(_, _, s)| (s * n as f64).floor() as usize).collect();
    // Hand out the remainder by largest fractional part, in table order on ties.
    let mut rest: Vec<(usize, f64)> =
        KIND_SHARES.iter().enumerate().map(|(i, (_, _, s))| (i, s * n as f64 - counts[i] as f64)).collect();
    rest.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let assigned: usize = counts.iter().sum();
    for (i, _) in rest.iter().take(n - assigned) {
        counts[*i] += 1;
    }
    // Any construction needs a general contractor and someone to subcontract to.
    for k in [0usize, 1] {
        if n >= 3 && counts[k] == 0 {
            if let Some(largest) = (0..counts.len()).max_by_key(|&i| (counts[i], usize::MAX - i)) {
                counts[largest] -= 1;
                counts[k] += 1;
            }
        }
    }
    let mut kinds: Vec<(EmployerKind, Sector)> = Vec::with_capacity(n);
    for (i, (kind, sector, _)) in KIND_SHARES.iter().enumerate() {
        kinds.extend(std::iter::repeat_n((*kind, *sector), counts[i]));
    }
    // Fisher–Yates.
    for i in (1..kinds.len()).rev() {
        let j = rng.index(i + 1);
        kinds.swap(i, j);
    }
    kinds
}

fn new_employer(
    seed: u64,
    index: usize,
    kind: EmployerKind,
    sector: Sector,
    cities: &[City],
    city_weights: &[f64],
    config: &SynthConfig,
) -> Employer {
    let mut rng = Rng::derive(seed, stream::EMPLOYER, index as u64);
    let city = rng.weighted(city_weights);
    let region = cities[city].districts[rng.index(cities[city].districts.len())];
    let quality_mean = match kind {
        EmployerKind::GeneralContractor => 0.6,
        EmployerKind::Subcontractor => 0.0,
        EmployerKind::LaborService => -0.35,
        EmployerKind::Manufacturer => 0.25,
        EmployerKind::Service => 0.15,
        EmployerKind::Other => 0.1,
    };
    let mut quality = rng.gauss(quality_mean, 1.0);
    // About 5% of firms are founded during the run (shell labour services above all).
    let new_share = if kind == EmployerKind::LaborService { 0.10 } else { 0.04 };
    let run_days = config.end.days_since(config.start).max(1);
    let founded = if rng.bernoulli(new_share) && run_days > 240 {
        quality -= 0.4;
        config.start.add_days(rng.index((run_days - 180) as usize) as i32)
    } else {
        let age_years = match kind {
            EmployerKind::LaborService => rng.lognormal(1.6, 0.6),
            EmployerKind::GeneralContractor => rng.lognormal(2.7, 0.4),
            _ => rng.lognormal(2.1, 0.6),
        }
        .clamp(0.3, 32.0);
        // Older firms have proven they survive.
        quality += 0.08 * (age_years - 6.0).clamp(-4.0, 8.0) / 4.0;
        config.start.add_days(-(age_years * 365.25) as i32).max(Date::from_days(7305))
    };
    let founded_on = (!rng.bernoulli(0.07)).then_some(founded);
    let capital_yuan = match kind {
        EmployerKind::GeneralContractor => rng.lognormal((1.0e8f64).ln(), 0.9),
        EmployerKind::Subcontractor => rng.lognormal((8.0e6f64).ln(), 0.9),
        EmployerKind::LaborService => rng.lognormal((2.0e6f64).ln(), 0.8),
        EmployerKind::Manufacturer => rng.lognormal((1.0e7f64).ln(), 1.1),
        EmployerKind::Service => rng.lognormal((1.0e6f64).ln(), 1.0),
        EmployerKind::Other => rng.lognormal((3.0e6f64).ln(), 1.0),
    }
    .clamp(1.0e5, 5.0e9);
    // Registered capital is a round number of ten thousand yuan, and not always filed.
    let registered_capital =
        (!rng.bernoulli(0.1)).then(|| Money::from_fen((capital_yuan / 10_000.0).round().max(10.0) as i64 * 1_000_000));
    let size = match sector {
        Sector::Construction => (capital_yuan / 1.0e8).powf(0.5).clamp(0.05, 20.0),
        _ => (rng.lognormal((48.0f64).ln(), 0.75)).clamp(20.0, 500.0),
    };
    let malicious = rng.bernoulli(match kind {
        EmployerKind::LaborService => 0.05,
        EmployerKind::Subcontractor => 0.025,
        EmployerKind::GeneralContractor => 0.005,
        _ => 0.01,
    });
    if malicious {
        quality -= 0.5;
    }
    let construction_worker_firm = matches!(kind, EmployerKind::Subcontractor | EmployerKind::LaborService);
    let foreman_pays = construction_worker_firm && rng.bernoulli(if malicious { 0.15 } else { 0.005 });
    let festival_settlement = construction_worker_firm && rng.bernoulli(0.012);
    let new_style = founded.ymd().0 >= 2016;
    let id = names::credit_code(region, index as u64, new_style);
    let name = names::employer_name(&mut rng, cities[city].name, kind, sector);
    // A few firms were blacklisted before the run, mostly weak ones.
    let blacklisted_on = rng.bernoulli(0.012 * (-0.8 * quality).exp()).then(|| {
        let earliest = founded.max(config.start.add_days(-3 * 365));
        let span = config.start.days_since(earliest).max(1);
        earliest.add_days(rng.index(span as usize) as i32)
    });
    let health = rng.gauss(quality, 0.6);
    Employer {
        id,
        name,
        kind,
        sector,
        city,
        region,
        registered_capital,
        founded_on,
        operating_from: founded.month().next(),
        blacklisted_on: blacklisted_on.filter(|b| *b < config.start),
        quality,
        health,
        weak_months: 0,
        size,
        payday: rng.int_in(10, 25) as u32,
        malicious,
        hides_arrears: malicious && index.is_multiple_of(2),
        foreman_pays,
        festival_settlement,
        exited: None,
        closing: None,
        crews: Vec::new(),
        arrears: Vec::new(),
        enforced_from: None,
        incidents: Vec::new(),
        squeeze: 0.0,
        rng,
    }
}

fn new_owner(seed: u64, index: usize, city_weights: &[f64]) -> Owner {
    let mut rng = Rng::derive(seed, stream::OWNER, index as u64);
    let government = rng.bernoulli(0.25);
    let city = rng.weighted(city_weights);
    let quality = if government { rng.gauss(0.8, 0.6) } else { rng.gauss(0.0, 1.0) };
    Owner {
        id: format!("OWN{:05}", index + 1),
        government,
        city,
        quality,
        health: quality,
        weight: rng.lognormal(0.0, 1.0),
        crisis_until: None,
        crisis_permanent: false,
        rng,
    }
}
