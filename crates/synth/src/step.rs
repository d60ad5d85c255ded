//! One simulated month of the latent process: conditions, owners and their instalments, projects, employer
//! health, then the wage month's payroll and payments, repayment of old arrears, complaints and inspections.
//!
//! Step `m` simulates the work of wage month `m` and the pay window that follows it (calendar month `m + 1`,
//! where the due dates, the payments, the complaints and most inspections of the step fall).

use super::Scenario;
use wagewatch_core::calendar::next_spring_festival;
use wagewatch_core::contract::{Category, Channel, Date, EmployerKind, Month, Outcome, Sector, Selection};

use super::names::WorkerProfile;
use super::world::{Arrear, Complaint, Inspection, Instalment, PooledWorker, Worker, World};
use super::writer::{Cell, TableWriter};
use super::SynthError;
use wagewatch_core::rng::{sigmoid, Rng};

/// The share of firms with workers drawn into the audit slice each month: inspected at random, whatever
/// their risk, and recorded as `random`.
pub(super) const AUDIT_SHARE: f64 = 0.004;

/// Payments and payroll rows of one step go to these writers.
pub(super) struct Streams<'a> {
    pub payroll: &'a mut TableWriter,
    pub payments: &'a mut TableWriter,
}

/// The calendar month in which wage month `m` is paid.
#[derive(Clone, Copy)]
struct Window {
    first: Date,
    last: Date,
    /// The next Spring Festival on or after the window's first day (less a week, so an early festival counts).
    festival: Date,
}

impl Window {
    fn of(m: Month) -> Window {
        let w = m.next();
        Window { first: w.first_day(), last: w.last_day(), festival: festival_on_or_after(w.first_day().add_days(-7)) }
    }

    /// A day of the window on or after `earliest`.
    fn day_from(&self, rng: &mut Rng, earliest: Date) -> Date {
        let from = earliest.max(self.first);
        if from > self.last {
            return from;
        }
        from.add_days(rng.index((self.last.days_since(from) + 1) as usize) as i32)
    }

    /// Whether the festival lies within `days` after the window's middle.
    fn festival_within(&self, days: i32) -> bool {
        let mid = self.first.add_days(14);
        let f = self.festival;
        f.days_since(mid) <= days && f >= self.first.add_days(-7)
    }
}

/// The first Spring Festival on or after `date`. `check_config` keeps every date the generator asks about
/// inside the festival calendar.
fn festival_on_or_after(date: Date) -> Date {
    next_spring_festival(date).expect("the history lies inside the festival calendar")
}

/// Days from `date` to the next Spring Festival.
fn days_to_spring_festival(date: Date) -> i32 {
    festival_on_or_after(date).days_since(date)
}

/// Extra log-odds of short pay for a worker-month due on `due`: the two months before the festival are the
/// peak of wage arrears (workers going home want the year's pay, contractors' cash is tightest).
fn festival_pressure(due: Date) -> f64 {
    match days_to_spring_festival(due) {
        0..=60 => 0.85,
        61..=90 => 0.3,
        _ => 0.0,
    }
}

/// Headcount profile over a project's life: ramp-up, plateau, run-down.
fn workforce_profile(progress: f64) -> f64 {
    if progress < 0.15 {
        0.35 + 0.65 * progress / 0.15
    } else if progress <= 0.75 {
        1.0
    } else {
        1.0 - 0.75 * ((progress - 0.75) / 0.25).min(1.0)
    }
}

/// Days of the month `m` that fall in the holiday around festival `f` (`before`..`after` days).
fn holiday_overlap(m: Month, f: Date, before: i32, after: i32) -> i32 {
    let (a, b) = (f.add_days(-before), f.add_days(after));
    let (first, last) = (m.first_day(), m.last_day());
    let lo = a.max(first);
    let hi = b.min(last);
    if hi < lo {
        0
    } else {
        hi.days_since(lo) + 1
    }
}

fn round_to(fen: f64, unit: i64) -> i64 {
    ((fen / unit as f64).round() as i64) * unit
}

impl World {
    /// Simulates wage month `m`.
    pub fn step(&mut self, m: Month, out: &mut Streams<'_>) -> Result<(), SynthError> {
        let window = Window::of(m);
        self.update_macro(m);
        self.update_owners(m);
        self.settle_instalments(&window);
        self.start_new_projects(m);
        self.advance_projects(m);
        self.update_employers(m);
        self.run_payroll(m, &window, out)?;
        self.repay_arrears(m, &window, out)?;
        self.raise_complaints(m, &window);
        self.inspect(m, &window);
        self.close_crews(m);
        self.pool = std::mem::take(&mut self.next_pool);
        Ok(())
    }

    /// Province-wide conditions: a real-estate downturn that peaks mid-2024 and eases, sector cycles, and city
    /// finances that suffer with land sales.
    fn update_macro(&mut self, m: Month) {
        let year = f64::from(m.year()) + (f64::from(m.number()) - 0.5) / 12.0;
        let base = 0.35 + 0.75 * (-((year - 2024.6) / 1.4).powi(2)).exp();
        // In a downturn orders fall: the manufacturing cycle is pulled towards −1.2 instead of 0.
        let orders = if self.scenario.in_wave(Scenario::ManufacturingDownturn, m) { -1.2 } else { 0.0 };
        let rng = &mut self.rng;
        let s = &mut self.macro_state;
        s.property = (0.75 * s.property + 0.25 * base + 0.04 * rng.normal()).max(0.0);
        s.manufacturing = 0.92 * s.manufacturing + 0.08 * orders + 0.12 * rng.normal();
        s.services = 0.9 * s.services + 0.1 * rng.normal();
        let property = s.property;
        for f in &mut s.city_fiscal {
            *f = 0.93 * *f + 0.12 * rng.normal() + 0.03 * (property - 0.6);
        }
    }

    /// Owners' health, and the onset of deep trouble (developers under real-estate stress above all).
    fn update_owners(&mut self, m: Month) {
        let property = self.macro_state.property;
        // A wave of collapses: for eighteen months, eight times the hazard and 4% of the developers a month
        // besides (about half of them in all), most of them for good.
        let wave = self.scenario.in_wave(Scenario::DeveloperCollapse, m);
        let (wave_hazard, wave_floor, permanent) = if wave { (8.0, 0.04, 0.8) } else { (1.0, 0.0, 0.4) };
        for o in &mut self.owners {
            let fiscal = self.macro_state.city_fiscal[o.city];
            let mean = if o.government { o.quality - 0.5 * fiscal } else { o.quality - 0.6 * property };
            if o.in_crisis(m) {
                o.health = -3.0 + 0.3 * o.rng.normal();
                continue;
            }
            o.health = mean + 0.85 * (o.health - mean) + 0.15 * o.rng.normal();
            let hazard = if o.government {
                0.0006 * fiscal.max(0.0).exp()
            } else {
                0.0011 * (1.3 * property).exp() * (-0.7 * o.health).exp() * wave_hazard + wave_floor
            };
            if o.rng.bernoulli(hazard) {
                o.crisis_permanent = !o.government && o.rng.bernoulli(permanent);
                o.crisis_until = Some(m.plus_months(o.rng.int_in(6, 24) as i32));
                o.health = -3.0;
            }
        }
    }

    /// Owners decide about instalments falling due in the window and pay some of the overdue ones; then each
    /// project's overdue amount is measured in months of normal billing.
    fn settle_instalments(&mut self, window: &Window) {
        let end = self.end;
        let open = std::mem::take(&mut self.open_instalments);
        let mut still_open = Vec::with_capacity(open.len());
        for i in open {
            let s = &mut self.instalments[i as usize];
            if s.scheduled_on > window.last {
                still_open.push(i);
                continue;
            }
            let project = &self.projects[s.project as usize];
            let owner = &mut self.owners[project.owner as usize];
            let m = window.first.month();
            let crisis = owner.in_crisis(m);
            let paid = if !s.decided {
                s.decided = true;
                let on_time = if owner.government { 3.0 + 1.3 * owner.health } else { 2.6 + 1.6 * owner.health };
                owner.rng.bernoulli(sigmoid(on_time)).then(|| {
                    let d = s.scheduled_on.add_days(owner.rng.int_in(-2, 6) as i32);
                    (d, s.amount_due)
                })
            } else {
                let p = if owner.crisis_permanent {
                    0.03
                } else if crisis {
                    0.08
                } else {
                    sigmoid(-0.4 + 1.4 * owner.health)
                };
                owner.rng.bernoulli(p).then(|| {
                    let d = window.day_from(&mut owner.rng, s.scheduled_on.add_days(1));
                    let amount = if owner.rng.bernoulli(0.85) {
                        s.amount_due
                    } else {
                        round_to(s.amount_due as f64 * owner.rng.range(0.5, 0.95), 10_000)
                    };
                    (d, amount)
                })
            };
            match paid {
                Some((d, amount)) if d <= end => {
                    s.paid_on = Some(d);
                    s.amount_paid = Some(amount);
                }
                // Paid after the end of the data: unknown as yet, and nothing more will happen to it.
                Some(_) => {}
                None => still_open.push(i),
            }
        }
        self.open_instalments = still_open;
        for p in &mut self.projects {
            p.overdue_months = 0.0;
        }
        // Only instalments that fell due before the window count as overdue when wages of the window are paid.
        let cutoff = window.first.add_days(10);
        for &i in &self.open_instalments {
            let s = &self.instalments[i as usize];
            if s.decided && s.scheduled_on < cutoff {
                let p = &mut self.projects[s.project as usize];
                p.overdue_months += s.amount_due as f64 / p.monthly_bill_fen().max(1.0);
            }
        }
        for p in &mut self.projects {
            p.overdue_months = p.overdue_months.min(6.0);
        }
    }

    fn start_new_projects(&mut self, m: Month) {
        let rate = super::world::PROJECTS_PER_EMPLOYER_MONTH
            * self.employers.len() as f64
            * (1.25 - 0.35 * self.macro_state.property).max(0.5);
        let n = self.rng.poisson(rate);
        for _ in 0..n {
            let day = m.first_day().add_days(self.rng.index(28) as i32);
            self.start_project(day, m, 0.0);
        }
    }

    /// Work progresses (slower when the owner does not pay or the contractor is weak), the owner is billed,
    /// and projects that reach the end are completed.
    fn advance_projects(&mut self, m: Month) {
        let end = self.end;
        let festival_month = festival_on_or_after(m.first_day()).month() == m;
        for pi in 0..self.projects.len() {
            let p = &self.projects[pi];
            if p.finished || p.start > m.last_day() {
                continue;
            }
            let owner_crisis = self.owners[p.owner as usize].in_crisis(m);
            let gc_health = self.employers[p.gc as usize].health;
            let mut pace = 1.0;
            if owner_crisis {
                pace *= 0.4;
            } else if p.overdue_months > 2.0 {
                pace *= 0.7;
            }
            if gc_health < -1.5 {
                pace *= 0.75;
            }
            if festival_month {
                pace *= 0.55;
            }
            if p.start.month() == m {
                pace *= f64::from(m.last_day().days_since(p.start) + 1) / f64::from(m.last_day().ymd().2);
            }
            let p = &mut self.projects[pi];
            let step = (pace / p.work_months).min(1.0 - p.progress);
            p.progress += step;
            p.unbilled += step * 0.85 * p.contract_fen as f64;
            let done = p.progress >= 0.999;
            let bill_day = m.next().first_day().add_days(24);
            if (!p.quarterly || m.number().is_multiple_of(3) || done) && p.unbilled >= 1_000_000.0 {
                let amount = round_to(p.unbilled, 10_000);
                p.unbilled = 0.0;
                if bill_day <= end {
                    self.push_instalment(pi as u32, bill_day, amount);
                }
            }
            if done {
                let p = &mut self.projects[pi];
                let first = p.start.max(m.first_day());
                let span = m.last_day().days_since(first) + 1;
                let day = first.add_days(self.rng.index(span.max(1) as usize) as i32);
                p.actual_end = Some(day);
                p.finished = true;
                // Final account 60 days after completion, retention (质保金) after a year.
                let contract = p.contract_fen as f64;
                for (after, share) in [(60, 0.10), (365, 0.05)] {
                    let d = day.add_days(after);
                    if d <= end {
                        self.push_instalment(pi as u32, d, round_to(contract * share, 10_000));
                    }
                }
            }
        }
    }

    fn push_instalment(&mut self, project: u32, scheduled_on: Date, amount_due: i64) {
        let i = self.instalments.len() as u32;
        self.instalments.push(Instalment {
            project,
            scheduled_on,
            amount_due,
            paid_on: None,
            amount_paid: None,
            decided: false,
        });
        self.open_instalments.push(i);
    }

    /// Health follows an AR(1) around the firm's quality and its sector's cycle, with rare shocks; construction
    /// firms also feel the chain: a general contractor what its owners owe it, a subcontractor the stress of
    /// the general contractors and owners above it. Firms that stay very weak close.
    fn update_employers(&mut self, m: Month) {
        // Chain stress of each project as seen by the firms working on it.
        let project_stress: Vec<f64> = self
            .projects
            .iter()
            .map(|p| {
                let gc = self.employers[p.gc as usize].health;
                0.5 * (-gc).max(0.0) + 0.5 * p.overdue_months.min(4.0)
            })
            .collect();
        for e in 0..self.employers.len() {
            if !self.employers[e].operating(m) {
                continue;
            }
            let squeeze = if self.employers[e].is_construction() {
                let crews = &self.employers[e].crews;
                let mut total = 0.0;
                let mut n = 0.0;
                for &c in crews {
                    if let Some(p) = self.crews[c as usize].project {
                        let proj = &self.projects[p as usize];
                        total +=
                            if proj.gc == e as u32 { proj.overdue_months.min(4.0) } else { project_stress[p as usize] };
                        n += 1.0;
                    }
                }
                if n > 0.0 {
                    total / n
                } else {
                    0.0
                }
            } else {
                0.0
            };
            let cycle = match self.employers[e].sector {
                Sector::Manufacturing => 0.7 * self.macro_state.manufacturing,
                Sector::Services => 0.6 * self.macro_state.services,
                Sector::Transport => 0.4 * self.macro_state.manufacturing,
                _ => 0.0,
            };
            let emp = &mut self.employers[e];
            emp.squeeze = squeeze;
            let mean = emp.quality + cycle;
            let mut shock = 0.0;
            if emp.rng.bernoulli(0.007) {
                shock -= 0.8 + emp.rng.exponential(0.8);
            }
            if emp.rng.bernoulli(0.004) {
                shock += 0.8;
            }
            emp.health = mean + 0.88 * (emp.health - mean) + 0.2 * emp.rng.normal() - 0.07 * squeeze + shock;
            if emp.health < -2.6 {
                emp.weak_months += 1;
            } else {
                emp.weak_months = 0;
            }
            let close_p = match emp.kind {
                EmployerKind::GeneralContractor => 0.03,
                _ => 0.12,
            };
            if emp.weak_months >= 2 && emp.rng.bernoulli(close_p) {
                let abscond = emp.rng.bernoulli(if emp.malicious { 0.9 } else { 0.45 });
                emp.closing = Some(abscond);
            }
        }
    }

    /// Every crew's roster for the month (leavers, layoffs, hires), then one payroll row per worker and the
    /// payments for it, with the month's short pay decided per crew.
    fn run_payroll(&mut self, m: Month, window: &Window, out: &mut Streams<'_>) -> Result<(), SynthError> {
        let festival = window.festival;
        let festival_month = festival.month() == m;
        let after_festival =
            festival.month().next() == m || festival_on_or_after(m.first_day().add_days(-40)).month().next() == m;
        let growth = 1.04f64.powf(f64::from(m.index() - self.first_period.index()) / 12.0);
        for e in 0..self.employers.len() {
            if !self.employers[e].operating(m) {
                continue;
            }
            let crews = self.employers[e].crews.clone();
            for c in crews {
                if !self.crews[c as usize].open {
                    continue;
                }
                let ctx = MonthContext { m, window, festival_month, after_festival, growth };
                self.pay_crew(e, c as usize, &ctx, out)?;
            }
        }
        // Firms closing this month leave: their crews break up.
        for e in 0..self.employers.len() {
            if self.employers[e].closing.take().is_some() {
                self.employers[e].exited = Some(m.next());
                let crews = std::mem::take(&mut self.employers[e].crews);
                for c in crews {
                    self.release_crew(c as usize);
                }
            }
        }
        Ok(())
    }

    fn release_crew(&mut self, c: usize) {
        let crew = &mut self.crews[c];
        crew.open = false;
        let construction = crew.project.is_some();
        for w in crew.workers.drain(..) {
            if construction {
                self.next_pool.push(PooledWorker { id: w.id, monthly_fen: w.monthly_fen });
            }
        }
        crew.workers.shrink_to_fit();
    }

    fn pay_crew(
        &mut self,
        e: usize,
        c: usize,
        ctx: &MonthContext<'_>,
        out: &mut Streams<'_>,
    ) -> Result<(), SynthError> {
        let m = ctx.m;
        let window = ctx.window;
        let (sector, health, malicious, payday) = {
            let emp = &self.employers[e];
            (emp.sector, emp.health, emp.malicious, emp.payday)
        };
        let construction = sector == Sector::Construction;
        let project = self.crews[c].project;
        // A factory in a downturn, its customers paying it late.
        let downturn_factory =
            sector == Sector::Manufacturing && self.scenario.in_wave(Scenario::ManufacturingDownturn, m);

        // --- the roster ---
        let target = match project {
            Some(p) => {
                let proj = &self.projects[p as usize];
                let mut t = proj.peak_workers * self.crews[c].share * workforce_profile(proj.progress);
                if self.owners[proj.owner as usize].in_crisis(m) {
                    t *= 0.6;
                }
                if ctx.festival_month {
                    t *= 0.75;
                }
                t
            }
            None => {
                let mut t = self.crews[c].share * (0.08 * health).exp();
                if downturn_factory {
                    // Orders fall, and the factory lets a quarter of its workers go as they reach the bottom.
                    t *= 1.0 - 0.25 * (-self.macro_state.manufacturing / 1.2).clamp(0.0, 1.0);
                }
                if ctx.festival_month {
                    t *= 0.92;
                }
                t
            }
        };
        let base_leave = match sector {
            Sector::Construction => 0.10,
            Sector::Manufacturing => 0.035,
            Sector::Services => 0.05,
            _ => 0.04,
        };
        let after = if ctx.after_festival {
            if construction {
                0.2
            } else {
                0.08
            }
        } else {
            0.0
        };
        let layoff = if health < -1.5 { 0.05 } else { 0.0 };
        let mut rng = std::mem::replace(&mut self.employers[e].rng, Rng::new(0));
        let mut workers = std::mem::take(&mut self.crews[c].workers);
        let before = workers.len();
        let mut kept = Vec::with_capacity(before + 8);
        for w in workers.drain(..) {
            // Workers who are owed mostly stay to get their money (until the festival sends them home).
            let p_leave = if w.owed { 0.5 * (base_leave + after) } else { base_leave + after + layoff };
            if rng.bernoulli(p_leave) {
                if construction {
                    self.next_pool.push(PooledWorker { id: w.id, monthly_fen: w.monthly_fen });
                }
            } else {
                kept.push(w);
            }
        }
        let mut workers = kept;
        let want = {
            let whole = target.floor();
            let t = whole as usize + usize::from(rng.bernoulli(target - whole));
            t.max(usize::from(!construction))
        };
        while workers.len() > want {
            // Layoffs pass over workers who are owed where they can: they would not go quietly.
            let mut i = rng.index(workers.len());
            if workers[i].owed {
                i = rng.index(workers.len());
            }
            let w = workers.swap_remove(i);
            if construction {
                self.next_pool.push(PooledWorker { id: w.id, monthly_fen: w.monthly_fen });
            }
        }
        let profile = match sector {
            Sector::Construction => WorkerProfile::Construction,
            Sector::Manufacturing => WorkerProfile::Manufacturing,
            Sector::Transport => WorkerProfile::Transport,
            _ => WorkerProfile::Services,
        };
        while workers.len() < want {
            let pooled = (construction && !self.pool.is_empty() && rng.bernoulli(0.45)).then(|| {
                let i = rng.index(self.pool.len());
                self.pool.swap_remove(i)
            });
            let (id, monthly_fen) = match pooled {
                Some(p) => (p.id, round_to(p.monthly_fen as f64 * rng.range(0.97, 1.06), 100)),
                None => {
                    let id = self.ids.issue(&mut self.id_rng, profile, m.first_day());
                    (id, monthly_rate(&mut rng, sector))
                }
            };
            workers.push(Worker { id, monthly_fen, owed: false, hired: m });
        }

        // --- the month's pay decisions, per crew ---
        let due = {
            let w = m.next();
            let last = w.last_day().ymd().2;
            w.first_day().add_days(payday.min(last) as i32 - 1)
        };
        let cutoff = due.add_days(30);
        let (chain, wage_account) = match project {
            Some(p) => {
                let proj = &self.projects[p as usize];
                let gc = &self.employers[proj.gc as usize];
                let overdue = proj.overdue_months.min(4.0);
                let chain = if proj.gc as usize == e {
                    0.45 * overdue
                } else {
                    0.4 * overdue * if proj.wage_account { 0.6 } else { 1.0 } + 0.35 * (-gc.health).max(0.0)
                };
                // In a wave of collapses a failed developer's sites run out of cash at once, down the chain.
                let owner = &self.owners[proj.owner as usize];
                let collapsed =
                    self.scenario.acts(Scenario::DeveloperCollapse, m) && owner.in_crisis(m) && !owner.government;
                let chain = chain + if collapsed { 1.5 } else { 0.0 };
                (chain, proj.wage_account)
            }
            None => (0.0, false),
        };
        let base = match sector {
            Sector::Construction => -6.8,
            Sector::Manufacturing => -7.0,
            Sector::Services => -6.8,
            _ => -6.9,
        };
        let blacklisted = self.employers[e].blacklisted_by(window.first);
        let year_end = if m.number() == 12 { 0.15 } else { 0.0 };
        let x_short = base - 1.2 * health
            + chain
            + festival_pressure(due)
            + year_end
            + if malicious { 1.2 } else { 0.0 }
            + if blacklisted { 0.3 } else { 0.0 }
            + if downturn_factory { 1.2 } else { 0.0 }
            - if wage_account { 0.4 } else { 0.0 };
        let closing = self.employers[e].closing;
        let absconding = closing == Some(true);
        // An arrears episode, once started, lasts a few months (longer for weak firms under chain stress):
        // the same workers go unpaid month after month until the firm finds the money or is made to pay.
        let continuing = self.crews[c].episode_left > 0;
        let short = absconding || continuing || rng.bernoulli(sigmoid(x_short));
        if short && !continuing {
            let hold_out = if downturn_factory { 0.6 } else { 0.0 };
            let p_more = sigmoid(1.2 - 0.7 * health + 0.3 * chain + hold_out).min(0.8);
            let mut months = 1u8;
            while months < 8 && rng.bernoulli(p_more) {
                months += 1;
            }
            self.crews[c].episode_left = months;
        }
        // Firms short-pay some teams or departments, not usually everyone.
        let affected_share = match (absconding, construction) {
            (true, _) => 1.0,
            (false, true) => rng.range(0.15, 0.6),
            (false, false) => rng.range(0.05, 0.35),
        };
        let slow = if downturn_factory { 1.0 } else { 0.0 };
        let late =
            !short && rng.bernoulli(sigmoid(-3.0 - 1.0 * health + 0.25 * chain + 0.3 * festival_pressure(due) + slow));
        let pay_day = if late {
            due.add_days(rng.int_in(3, 25) as i32)
        } else {
            match rng.uniform() {
                u if u < 0.55 => due,
                u if u < 0.9 => due.add_days(-(rng.int_in(1, 3) as i32)),
                _ => due.add_days(rng.int_in(1, 3) as i32),
            }
        };
        let foreman = self.employers[e].foreman_pays && !short && workers.len() >= 4 && rng.bernoulli(0.25);
        let team = if foreman { rng.int_in(4, 12).min(workers.len() as i64) as usize } else { 0 };
        let settle = self.employers[e].festival_settlement && days_to_spring_festival(due) <= 60;
        let disputes = rng.poisson(workers.len() as f64 * 0.0004 * (-0.6 * health).exp());
        let mut disputed = vec![false; workers.len()];
        for _ in 0..disputes {
            if !workers.is_empty() {
                let i = rng.index(workers.len());
                disputed[i] = true;
            }
        }

        // --- days and wages ---
        let days_in_month = m.last_day().ymd().2 as i32;
        let (before_f, after_f, holiday_share) = match sector {
            Sector::Construction => (10, 10, 1.0),
            Sector::Manufacturing => (7, 8, 0.9),
            _ => (2, 4, 0.5),
        };
        let holiday = f64::from(holiday_overlap(m, ctx.window.festival, before_f, after_f)) * holiday_share;
        let available = f64::from(days_in_month) - holiday;
        let start_fraction = project
            .map(|p| {
                let s = self.projects[p as usize].start;
                if s.month() == m {
                    f64::from(m.last_day().days_since(s) + 1) / f64::from(days_in_month)
                } else {
                    1.0
                }
            })
            .unwrap_or(1.0);
        let mut rows: Vec<(i64, i64)> = Vec::with_capacity(workers.len()); // (days, wage fen)
        for w in &workers {
            let mut mean = 0.78 * available * start_fraction;
            if w.hired == m {
                mean *= rng.range(0.25, 1.0);
            }
            let days = rng.gauss(mean, 2.6).round().clamp(0.0, available.floor().max(0.0)) as i64;
            let days = if days == 0 && mean >= 4.0 { 1 } else { days };
            let monthly = w.monthly_fen as f64 * ctx.growth;
            let wage = if construction {
                round_to(monthly * days as f64 / 26.0, 100)
            } else {
                round_to(monthly * (days as f64 / 22.0).min(1.25), 1)
            };
            rows.push((days, wage));
        }
        let team_total: i64 = rows.iter().take(team).map(|r| r.1).sum();

        // --- rows ---
        let employer_id = self.employers[e].id.clone();
        let project_id = project.map(|p| self.projects[p as usize].id.clone());
        let stats_index = (m.index() - self.first_period.index()) as usize;
        let end = self.end;
        let festival = window.festival;
        let mut new_arrears: Vec<Arrear> = Vec::new();
        let mut payments_buf: Vec<(Date, i64)> = Vec::with_capacity(3);
        let hides = self.employers[e].hides_arrears;
        for (i, w) in workers.iter_mut().enumerate() {
            let (days, wage) = rows[i];
            payments_buf.clear();
            // What stays owed and is remembered (and may be repaid, complained about, found by inspectors).
            let mut carried = 0i64;
            if wage > 0 {
                // Within an episode the same workers stay unpaid; few others join them.
                let p_affected = match (w.owed, continuing) {
                    (true, _) => 0.92,
                    (false, true) => 0.25 * affected_share,
                    (false, false) => affected_share,
                };
                if short && rng.bernoulli(p_affected) {
                    let part = if absconding || rng.bernoulli(0.65) {
                        0
                    } else {
                        round_to(wage as f64 * rng.range(0.1, 0.5), 10_000).min(wage)
                    };
                    if part > 0 {
                        payments_buf.push((due.add_days(rng.int_in(0, 5) as i32), part));
                    }
                    if !absconding && rng.bernoulli(0.08) {
                        payments_buf.push((due.add_days(rng.int_in(8, 28) as i32), wage - part));
                    } else {
                        carried = wage - part;
                    }
                } else if disputed[i] {
                    let part = round_to(wage as f64 * rng.range(0.0, 0.85), 10_000).min(wage);
                    if part > 0 {
                        payments_buf.push((pay_day, part));
                    }
                    match rng.uniform() {
                        u if u < 0.45 => payments_buf.push((due.add_days(rng.int_in(10, 28) as i32), wage - part)),
                        u if u < 0.8 => carried = wage - part,
                        _ => {} // never paid, and the worker does not pursue it
                    }
                } else if foreman && i < team {
                    // The foreman collects the team's pay; the others get nothing on record.
                    if i == 0 {
                        payments_buf.push((pay_day, team_total));
                    }
                } else if settle && rng.bernoulli(0.5) {
                    // Living allowance now, the balance in the settlement before the festival.
                    let part = round_to(wage as f64 * rng.range(0.5, 0.7), 10_000).min(wage);
                    let settle_day = festival.add_days(-(rng.int_in(4, 12) as i32));
                    if settle_day > due {
                        payments_buf.push((due, part));
                        payments_buf.push((settle_day, wage - part));
                    } else {
                        payments_buf.push((pay_day, wage));
                    }
                } else {
                    payments_buf.push((pay_day, wage));
                }
            }
            // A firm that hides its arrears leaves a worker-month it short-pays off its books entirely.
            let paid_on_time: i64 = payments_buf.iter().filter(|(d, _)| *d <= cutoff).map(|(_, a)| *a).sum();
            let hidden = hides && wage > 0 && paid_on_time * 10 < wage * 9;
            if !hidden {
                out.payroll.push(&[
                    Cell::opt_str(project_id.as_deref()),
                    Cell::Str(&employer_id),
                    Cell::Str(w.id.as_str()),
                    Cell::Month(m),
                    Cell::Int(days),
                    Cell::Money(wagewatch_core::contract::Money::from_fen(wage)),
                    Cell::Date(due),
                ])?;
            }
            let mut paid_by_cutoff = 0i64;
            let mut paid_total = 0i64;
            for &(d, amount) in &payments_buf {
                if d > end || amount <= 0 {
                    continue;
                }
                paid_total += amount;
                if d <= cutoff {
                    paid_by_cutoff += amount;
                }
                if hidden {
                    continue;
                }
                out.payments.push(&[
                    Cell::opt_str(project_id.as_deref()),
                    Cell::Str(&employer_id),
                    Cell::Str(w.id.as_str()),
                    Cell::Month(m),
                    Cell::Money(wagewatch_core::contract::Money::from_fen(amount)),
                    Cell::Date(d),
                ])?;
            }
            // Whether a worker-month was short can only be told once its due date + 30 days is in the data.
            let is_short = wage > 0 && paid_by_cutoff * 10 < wage * 9 && cutoff <= end;
            if let Some(s) = self.stats.get_mut(stats_index) {
                s.worker_months += 1;
                if construction {
                    s.construction_worker_months += 1;
                }
                if is_short {
                    s.short_paid_worker_months += 1;
                }
                if cutoff <= end {
                    s.owed_fen += (wage - paid_by_cutoff).max(0);
                }
            }
            if carried > 0 {
                w.owed = true;
                new_arrears.push(Arrear {
                    worker: w.id,
                    crew: c as u32,
                    project,
                    period: m,
                    due,
                    wage_due: wage,
                    paid: paid_total,
                    counted_short: is_short,
                    hidden,
                });
            }
        }
        self.employers[e].arrears.extend(new_arrears);
        self.employers[e].rng = rng;
        self.crews[c].workers = workers;
        self.crews[c].episode_left = self.crews[c].episode_left.saturating_sub(1);
        Ok(())
    }

    /// Old arrears are repaid in lumps: more likely when the firm is healthy, when an authority has ordered it,
    /// and in the settlement rush just before the festival; hardly ever by firms that evade on purpose or have
    /// closed (then only from the project's wage guarantee deposit or a government advance).
    fn repay_arrears(&mut self, m: Month, window: &Window, out: &mut Streams<'_>) -> Result<(), SynthError> {
        let end = self.end;
        let festival_rush = Some(window.festival).filter(|f| *f >= window.first && *f <= window.last.add_days(12));
        for e in 0..self.employers.len() {
            if self.employers[e].arrears.is_empty() {
                continue;
            }
            // Arrears older than 18 months are written off: nobody will pay them any more.
            let horizon = m.plus_months(-18);
            self.employers[e].arrears.retain(|a| a.period >= horizon);
            let emp = &self.employers[e];
            let closed = emp.exited.is_some();
            let enforced = emp.enforced_from.is_some_and(|d| d <= window.last);
            let mut p = if closed { 0.0 } else { sigmoid(-1.3 + 1.3 * emp.health) };
            if emp.malicious {
                p *= 0.35;
            }
            if enforced {
                let has_deposit =
                    emp.arrears.iter().any(|a| a.project.is_some_and(|p| self.projects[p as usize].deposit.is_some()));
                let forced = match (closed, emp.malicious) {
                    (true, _) if has_deposit => 0.6,
                    (true, _) => 0.1,
                    (false, true) => 0.45,
                    (false, false) => 0.75,
                };
                p = p.max(forced);
            }
            let rush = festival_rush.is_some();
            if rush {
                let extra = if closed { 0.25 } else { 0.5 };
                p = 1.0 - (1.0 - p) * (1.0 - extra);
            }
            let mut rng = std::mem::replace(&mut self.employers[e].rng, Rng::new(0));
            if !rng.bernoulli(p) {
                self.employers[e].rng = rng;
                continue;
            }
            let date = match festival_rush {
                Some(f) => f.add_days(-(rng.int_in(2, 14) as i32)).max(window.first),
                None => window.day_from(&mut rng, window.first),
            };
            let employer_id = self.employers[e].id.clone();
            let mut arrears = std::mem::take(&mut self.employers[e].arrears);
            for a in &mut arrears {
                // A lump mostly clears old debts; this month's shortfalls often wait for the next one.
                let fresh = a.due.add_days(31) > date;
                if a.period == m || !rng.bernoulli(if fresh { 0.4 } else { 0.85 }) || date <= a.due {
                    continue;
                }
                let remaining = a.remaining();
                let amount = if rng.bernoulli(0.85) { remaining } else { round_to(remaining as f64 * 0.5, 10_000) };
                if amount <= 0 || date > end {
                    continue;
                }
                let project_id = a.project.map(|p| self.projects[p as usize].id.as_str());
                if !a.hidden {
                    out.payments.push(&[
                        Cell::opt_str(project_id),
                        Cell::Str(&employer_id),
                        Cell::Str(a.worker.as_str()),
                        Cell::Month(a.period),
                        Cell::Money(wagewatch_core::contract::Money::from_fen(amount)),
                        Cell::Date(date),
                    ])?;
                }
                a.paid += amount;
                if date <= a.due.add_days(30) {
                    let k = (a.period.index() - self.first_period.index()) as usize;
                    if let Some(s) = self.stats.get_mut(k) {
                        s.owed_fen -= amount.min(s.owed_fen);
                        if a.counted_short && a.paid * 10 >= a.wage_due * 9 {
                            a.counted_short = false;
                            s.short_paid_worker_months -= 1;
                        }
                    }
                }
                if a.remaining() == 0 {
                    let crew = &mut self.crews[a.crew as usize];
                    if let Some(w) = crew.workers.iter_mut().find(|w| w.id == a.worker) {
                        w.owed = false;
                    }
                }
            }
            arrears.retain(|a| a.remaining() > 0);
            if arrears.is_empty() {
                self.employers[e].enforced_from = None;
            }
            // Made to pay, or clearing up before the festival: its crews are paid normally again.
            if (rush && rng.bernoulli(0.7)) || (enforced && rng.bernoulli(0.2)) {
                for &c in &self.employers[e].crews {
                    self.crews[c as usize].episode_left = 0;
                }
            }
            self.employers[e].arrears = arrears;
            self.employers[e].rng = rng;
        }
        Ok(())
    }

    /// Workers owed wages complain, more when many are owed, when much is owed and before the festival; large
    /// groups near the festival become group incidents, evasion by closed or malicious firms criminal
    /// referrals. Some complaints against healthy firms are unfounded. Complaints trigger inspections and
    /// orders to pay; repeated incidents and referrals put firms on the blacklist.
    fn raise_complaints(&mut self, m: Month, window: &Window) {
        let end = self.end;
        let near_festival = window.festival_within(60);
        for e in 0..self.employers.len() {
            let mut rng = std::mem::replace(&mut self.events, Rng::new(0));
            // Owed workers per crew.
            let mut by_crew: Vec<(u32, super::names::IdCard, i64, bool, Date)> = self.employers[e]
                .arrears
                .iter()
                .map(|a| (a.crew, a.worker, a.remaining(), a.period == m, a.due))
                .collect();
            by_crew.sort_by_key(|a| (a.0, a.1));
            let mut groups: Vec<OwedGroup> = Vec::new();
            for (crew, worker, remaining, fresh, due) in &by_crew {
                match groups.last_mut() {
                    Some(g) if g.crew == *crew => {
                        g.amount += remaining;
                        g.fresh |= fresh;
                        g.earliest_due = g.earliest_due.min(*due);
                        if g.last_worker != *worker {
                            g.workers += 1;
                            g.last_worker = *worker;
                        }
                    }
                    _ => groups.push(OwedGroup {
                        crew: *crew,
                        workers: 1,
                        last_worker: *worker,
                        amount: *remaining,
                        fresh: *fresh,
                        earliest_due: *due,
                    }),
                }
            }
            for g in groups {
                let crew = &self.crews[g.crew as usize];
                let recently = crew.last_complaint.is_some_and(|l| l.index() >= m.index() - 1);
                let workers = f64::from(g.workers);
                let amount_10k = g.amount as f64 / 1_000_000.0;
                let mut rate = 0.1 + 0.055 * workers.sqrt() + 0.05 * (1.0 + amount_10k).ln();
                if near_festival {
                    rate *= 2.2;
                }
                if recently {
                    rate *= 0.5;
                }
                if !g.fresh {
                    rate *= 0.7;
                }
                if !rng.bernoulli(1.0 - (-rate).exp()) {
                    continue;
                }
                let received = if g.fresh {
                    g.earliest_due.add_days(rng.int_in(3, 30) as i32).max(window.first)
                } else {
                    window.day_from(&mut rng, window.first)
                };
                if received > end {
                    continue;
                }
                let project = crew.project;
                self.crews[g.crew as usize].last_complaint = Some(m);
                let emp = &self.employers[e];
                let days_to_festival = days_to_spring_festival(received);
                let evasive = emp.malicious || emp.exited.is_some();
                let category = if evasive && g.amount >= 5_000_000 && g.workers >= 5 && rng.bernoulli(0.25) {
                    Category::CriminalReferral
                } else if (g.workers >= 8 && days_to_festival <= 50 && rng.bernoulli(0.45))
                    || (g.workers >= 15 && rng.bernoulli(0.08))
                {
                    Category::GroupIncident
                } else if rng.bernoulli(0.03) {
                    Category::Other
                } else {
                    Category::WageArrears
                };
                let involved = match category {
                    Category::GroupIncident => (workers * rng.range(0.5, 1.0)).round().max(10.0) as u32,
                    Category::CriminalReferral => g.workers,
                    _ => (1 + rng.poisson(0.8 * workers.sqrt()) as u32).min(g.workers.max(1)),
                };
                let amount_claimed = (!rng.bernoulli(0.22)).then(|| {
                    let share = f64::from(involved.min(g.workers)) / workers;
                    round_to(g.amount as f64 * share * rng.range(0.95, 1.2), 10_000).max(10_000)
                });
                let outcome = match category {
                    Category::GroupIncident | Category::CriminalReferral => {
                        if rng.bernoulli(0.95) {
                            Outcome::Substantiated
                        } else {
                            Outcome::Withdrawn
                        }
                    }
                    _ => match rng.uniform() {
                        u if u < 0.86 => Outcome::Substantiated,
                        u if u < 0.96 => Outcome::Withdrawn,
                        _ => Outcome::Unsubstantiated,
                    },
                };
                let (employer_ref, project_ref) = match project {
                    Some(p) => match rng.uniform() {
                        u if u < 0.7 => (Some(e as u32), Some(p)),
                        u if u < 0.85 => (None, Some(p)),
                        _ => (Some(e as u32), None),
                    },
                    None => (Some(e as u32), None),
                };
                self.record_complaint(
                    &mut rng,
                    received,
                    employer_ref,
                    project_ref,
                    category,
                    involved,
                    amount_claimed,
                    outcome,
                );
                let emp = &mut self.employers[e];
                if outcome == Outcome::Substantiated {
                    let order = received.add_days(rng.int_in(7, 25) as i32);
                    emp.enforced_from = Some(emp.enforced_from.map_or(order, |d| d.min(order)));
                }
                match category {
                    Category::CriminalReferral if rng.bernoulli(0.85) => {
                        emp.blacklist(received.add_days(rng.int_in(30, 120) as i32));
                    }
                    Category::GroupIncident => {
                        emp.incidents.retain(|d| received.days_since(*d) <= 365);
                        emp.incidents.push(received);
                        if emp.incidents.len() >= 2 && rng.bernoulli(0.6) {
                            emp.blacklist(received.add_days(rng.int_in(30, 90) as i32));
                        }
                    }
                    _ => {}
                }
                // Most complaints bring the inspectors within a month.
                let p_inspect = match category {
                    Category::GroupIncident => 0.9,
                    Category::CriminalReferral => 0.8,
                    _ => 0.45,
                };
                if rng.bernoulli(p_inspect) {
                    let day = received.add_days(rng.int_in(2, 30) as i32);
                    if day <= end {
                        self.record_inspection(&mut rng, day, e as u32, project, Selection::Complaint);
                    }
                }
            }
            // Unfounded complaints, against any firm with workers.
            let headcount: usize = self.employers[e].crews.iter().map(|&c| self.crews[c as usize].workers.len()).sum();
            if self.employers[e].operating(m) && headcount > 0 {
                let surge = if self.scenario.acts(Scenario::ComplaintSurge, m) { 8.0 } else { 1.0 };
                let p = 0.0012 * (headcount as f64 / 50.0).sqrt() * surge;
                if rng.bernoulli(p) {
                    let day = window.day_from(&mut rng, window.first);
                    if day <= end {
                        let category = if rng.bernoulli(0.7) { Category::WageArrears } else { Category::Other };
                        let outcome = if rng.bernoulli(0.65) { Outcome::Unsubstantiated } else { Outcome::Withdrawn };
                        let amount = rng.bernoulli(0.5).then(|| rng.int_in(20, 300) * 10_000);
                        let workers = rng.int_in(1, 3) as u32;
                        self.record_complaint(&mut rng, day, Some(e as u32), None, category, workers, amount, outcome);
                    }
                }
            }
            self.events = rng;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record_complaint(
        &mut self,
        rng: &mut Rng,
        received_on: Date,
        employer: Option<u32>,
        project: Option<u32>,
        category: Category,
        workers: u32,
        amount_claimed: Option<i64>,
        outcome: Outcome,
    ) {
        let channel = match category {
            Category::GroupIncident => rng.pick(&[
                (Channel::Police, 0.35),
                (Channel::WalkIn, 0.3),
                (Channel::Hotline, 0.15),
                (Channel::Media, 0.12),
                (Channel::Online, 0.08),
            ]),
            Category::CriminalReferral => rng.pick(&[(Channel::Police, 0.7), (Channel::Other, 0.3)]),
            _ => rng.pick(&[
                (Channel::Hotline, 0.45),
                (Channel::Online, 0.32),
                (Channel::WalkIn, 0.13),
                (Channel::Police, 0.03),
                (Channel::Media, 0.02),
                (Channel::Other, 0.05),
            ]),
        };
        let days = rng.lognormal((25.0f64).ln(), 0.6).clamp(5.0, 90.0).round() as i32;
        let closed = received_on.add_days(days);
        let (closed_on, outcome) = if closed <= self.end { (Some(closed), Some(outcome)) } else { (None, None) };
        self.complaints.push(Complaint {
            received_on,
            employer,
            project,
            channel,
            category,
            workers: workers.max(1),
            amount_claimed,
            closed_on,
            outcome,
        });
    }

    /// Records an inspection of employer `e` (and project) on `day`: arrears are found, with imperfect
    /// detection, when the firm (or anyone on the project) really owes wages due before that day.
    fn record_inspection(&mut self, rng: &mut Rng, day: Date, e: u32, project: Option<u32>, selection: Selection) {
        let mut owed = 0i64;
        let mut owed_workers: Vec<super::names::IdCard> = Vec::new();
        let employers: Vec<u32> = match project {
            Some(p) if self.projects[p as usize].gc == e => {
                self.projects[p as usize].crews.iter().map(|&c| self.crews[c as usize].employer).collect()
            }
            _ => vec![e],
        };
        for emp in employers {
            for a in &self.employers[emp as usize].arrears {
                if a.due < day && project.is_none_or(|p| a.project == Some(p)) {
                    owed += a.remaining();
                    owed_workers.push(a.worker);
                }
            }
        }
        owed_workers.sort_unstable();
        owed_workers.dedup();
        let detect = if selection == Selection::Complaint { 0.85 } else { 0.75 };
        let found = owed > 0 && rng.bernoulli(detect);
        let (amount, workers) = if found {
            let share = rng.range(0.8, 1.0);
            let n = ((owed_workers.len() as f64 * share).round() as u32).max(1);
            (Some(round_to(owed as f64 * share, 100).max(100)), Some(n))
        } else {
            (None, if rng.bernoulli(0.3) { Some(0) } else { None })
        };
        self.inspections.push(Inspection {
            inspected_on: day,
            employer: e,
            project,
            found,
            amount,
            workers,
            selection,
        });
        if found {
            let emp = &mut self.employers[e as usize];
            let order = day.add_days(rng.int_in(5, 20) as i32);
            emp.enforced_from = Some(emp.enforced_from.map_or(order, |d| d.min(order)));
        }
    }

    /// Routine inspections: a small share of firms and sites each month, three times as many during the winter
    /// campaign before the festival, and more of blacklisted firms.
    fn inspect(&mut self, m: Month, window: &Window) {
        let campaign = window.festival_within(75);
        let boost = if campaign { 3.0 } else { 1.0 };
        let mut rng = std::mem::replace(&mut self.events, Rng::new(0));
        for e in 0..self.employers.len() {
            let emp = &self.employers[e];
            if !emp.operating(m) || emp.crews.is_empty() {
                continue;
            }
            let mut p = if emp.is_construction() { 0.006 } else { 0.003 } * boost;
            if emp.blacklisted_by(window.first) {
                p *= 3.0;
            }
            if rng.bernoulli(p) {
                let day = window.day_from(&mut rng, window.first);
                if day <= self.end {
                    let project = emp
                        .crews
                        .iter()
                        .filter_map(|&c| self.crews[c as usize].project)
                        .next()
                        .filter(|_| rng.bernoulli(0.6));
                    self.record_inspection(&mut rng, day, e as u32, project, Selection::Routine);
                }
            }
        }
        for p in 0..self.projects.len() {
            let proj = &self.projects[p];
            if proj.finished || proj.start > m.last_day() {
                continue;
            }
            if rng.bernoulli(0.012 * boost) {
                let day = window.day_from(&mut rng, window.first);
                if day <= self.end {
                    let gc = proj.gc;
                    self.record_inspection(&mut rng, day, gc, Some(p as u32), Selection::Routine);
                }
            }
        }
        self.events = rng;
        self.audit_slice(window);
    }

    /// The audit slice: each month [`AUDIT_SHARE`] of the firms with workers and of the running sites (the
    /// general contractor with the project), drawn at random whatever their risk, are inspected and
    /// recorded as `random` (on their own random stream).
    fn audit_slice(&mut self, window: &Window) {
        let m = window.first.month();
        let mut rng = std::mem::replace(&mut self.audit, Rng::new(0));
        for e in 0..self.employers.len() {
            let emp = &self.employers[e];
            if !emp.operating(m) || emp.crews.is_empty() || !rng.bernoulli(AUDIT_SHARE) {
                continue;
            }
            let day = window.day_from(&mut rng, window.first);
            if day <= self.end {
                self.record_inspection(&mut rng, day, e as u32, None, Selection::Random);
            }
        }
        for p in 0..self.projects.len() {
            let proj = &self.projects[p];
            if proj.finished || proj.start > m.last_day() || !rng.bernoulli(AUDIT_SHARE) {
                continue;
            }
            let day = window.day_from(&mut rng, window.first);
            if day <= self.end {
                let gc = proj.gc;
                self.record_inspection(&mut rng, day, gc, Some(p as u32), Selection::Random);
            }
        }
        self.audit = rng;
    }

    /// Crews of finished projects break up; crews of firms that closed are replaced on unfinished projects.
    fn close_crews(&mut self, m: Month) {
        for p in 0..self.projects.len() {
            if self.projects[p].start > m.last_day() {
                continue;
            }
            let crews = self.projects[p].crews.clone();
            let finished = self.projects[p].finished;
            let gc = self.projects[p].gc;
            let gc_gone = self.employers[gc as usize].exited.is_some();
            if gc_gone && !finished {
                // The general contractor is gone: the site stalls and never formally completes (烂尾).
                self.projects[p].finished = true;
            }
            let finished = self.projects[p].finished;
            for c in crews {
                let c = c as usize;
                let employer = self.crews[c].employer as usize;
                let employer_gone = self.employers[employer].exited.is_some();
                if finished && self.crews[c].open {
                    self.release_crew(c);
                    self.employers[employer].crews.retain(|&x| x != c as u32);
                } else if employer_gone && self.crews[c].open {
                    self.release_crew(c);
                }
            }
            if !finished {
                // Replace crews whose employer closed this month.
                let closed: Vec<u32> = self.projects[p]
                    .crews
                    .iter()
                    .copied()
                    .filter(|&c| {
                        let crew = &self.crews[c as usize];
                        !crew.open
                            && crew.share > 0.0
                            && self.employers[crew.employer as usize].exited == Some(m.next())
                    })
                    .collect();
                for c in closed {
                    let share = self.crews[c as usize].share;
                    self.crews[c as usize].share = 0.0;
                    let mut prng = Rng::derive(self.seed, super::world::stream::PROJECT, 1 << 40 | u64::from(c));
                    let day = m.next().first_day();
                    match self.pick_subcontractor(&mut prng, p as u32, m.next(), day) {
                        Some(s) => self.add_crew(s, p as u32, share),
                        None => self.add_crew(gc, p as u32, share),
                    }
                }
            }
        }
    }
}

/// Facts about the month shared by every crew.
struct MonthContext<'a> {
    m: Month,
    window: &'a Window,
    festival_month: bool,
    after_festival: bool,
    growth: f64,
}

/// Workers owed by one crew.
struct OwedGroup {
    crew: u32,
    workers: u32,
    last_worker: super::names::IdCard,
    amount: i64,
    fresh: bool,
    earliest_due: Date,
}

/// A new worker's agreed monthly wage (26 working days), in fen.
fn monthly_rate(rng: &mut Rng, sector: Sector) -> i64 {
    let (median, sd, lo, hi) = match sector {
        Sector::Construction => (6_200.0, 0.2, 4_000.0, 9_000.0),
        Sector::Manufacturing => (5_000.0, 0.17, 3_500.0, 7_000.0),
        Sector::Services => (4_300.0, 0.17, 3_000.0, 6_000.0),
        Sector::Transport => (5_800.0, 0.18, 4_000.0, 8_500.0),
        Sector::Other => (4_800.0, 0.2, 3_000.0, 8_000.0),
    };
    let yuan = rng.lognormal(f64::ln(median), sd).clamp(lo, hi);
    round_to(yuan * 100.0, 10_000)
}
