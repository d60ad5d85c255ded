//! The synthetic province's geography and the generator's identifiers: region codes, unified social credit
//! codes, Chinese-looking company and project names, and resident ID-card numbers for workers.
//!
//! Identifiers are built to pass the real check-character rules (GB 32100 for credit codes, GB 11714 for the
//! organisation code inside them, GB 11643 / ISO 7064 MOD 11-2 for ID cards), so that downstream validation and
//! pseudonymisation see data shaped like the real thing.

use wagewatch_core::contract::{Date, EmployerKind, RegionCode, Sector};

use wagewatch_core::regions;
use wagewatch_core::rng::{mix64, Rng};

/// One prefecture-level city: its name, its share of economic activity and its districts.
#[derive(Clone, Debug)]
pub struct City {
    pub name: &'static str,
    pub weight: f64,
    pub districts: Vec<RegionCode>,
}

/// The 13 cities of the province with their real districts and counties (GB/T 2260, as
/// `wagewatch_core::regions` names them).
pub fn province() -> Vec<City> {
    // Each city's share of economic activity, in the order of the division codes.
    const WEIGHTS: [f64; 13] = [16.0, 10.0, 8.0, 7.0, 18.0, 9.0, 4.0, 5.0, 6.0, 5.0, 4.0, 5.0, 3.0];
    regions::JIANGSU
        .iter()
        .zip(WEIGHTS)
        .map(|(&(_, name, districts), weight)| City {
            name: name.trim_end_matches('市'),
            weight,
            districts: districts.iter().filter_map(|(code, _)| RegionCode::from_value(*code)).collect(),
        })
        .collect()
}

/// The characters of a unified social credit code (GB 32100): digits and 21 letters (no I, O, S, V, Z).
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A unified social credit code for company number `serial`, registered in `region`.
///
/// Layout: `9` (registered with market regulation), `1` (enterprise), the 6-digit region, a 9-character
/// organisation code (8 body characters and its GB 11714 check character), and the GB 32100 check character.
/// Companies registered since the 2015 reform get the `MA…` organisation codes of new registrations; older ones
/// a numeric code. The body is an affine bijection of `serial`, so distinct serials give distinct codes.
pub fn credit_code(region: RegionCode, serial: u64, new_style: bool) -> String {
    let mut body = [0u8; 8];
    if new_style {
        // "MA" + 6 characters in base 31: 31^6 ≈ 8.9e8 serials.
        const SPACE: u64 = 887_503_681;
        let mut v = (serial.wrapping_mul(48_271) + 12_345_677) % SPACE;
        body[0] = b'M';
        body[1] = b'A';
        for slot in body[2..].iter_mut().rev() {
            *slot = USCC_CHARS[(v % 31) as usize];
            v /= 31;
        }
    } else {
        // 8 digits; 7 is a unit modulo 10^8, so the map is a bijection.
        let v = (serial.wrapping_mul(7_654_321) + 10_203_040) % 100_000_000;
        let digits = format!("{v:08}");
        body.copy_from_slice(digits.as_bytes());
    }
    let mut code = Vec::with_capacity(18);
    code.extend_from_slice(b"91");
    code.extend_from_slice(format!("{region}").as_bytes());
    code.extend_from_slice(&body);
    code.push(organisation_check(&body));
    code.push(credit_code_check(&code));
    String::from_utf8(code).unwrap_or_default()
}

/// The GB 11714 check character of an 8-character organisation code body.
fn organisation_check(body: &[u8; 8]) -> u8 {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| {
            let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
            v * w
        })
        .sum();
    match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        c => b'0' + c as u8,
    }
}

/// The GB 32100 check character over the first 17 characters of a credit code.
fn credit_code_check(first17: &[u8]) -> u8 {
    let mut weight = 1u32;
    let mut sum = 0u32;
    for c in first17.iter().take(17) {
        let v = USCC_CHARS.iter().position(|x| x == c).unwrap_or(0) as u32;
        sum += v * weight;
        weight = weight * 3 % 31;
    }
    USCC_CHARS[((31 - sum % 31) % 31) as usize]
}

/// A company name such as `南京华建建设集团有限公司`, from the city, a two-character brand and the trade.
pub fn employer_name(rng: &mut Rng, city: &str, kind: EmployerKind, sector: Sector) -> String {
    const BRAND: &[&str] = &[
        "华", "建", "恒", "达", "鑫", "盛", "宏", "远", "泰", "安", "金", "诚", "信", "联", "中", "天", "荣", "顺",
        "瑞", "丰", "嘉", "和", "永", "兴", "汇", "通", "宇", "东", "海", "新", "明", "德", "广", "升", "润", "昌",
        "富", "鼎", "晟", "锦", "正",
    ];
    // Two different brand characters.
    let first = rng.index(BRAND.len());
    let second = (first + 1 + rng.index(BRAND.len() - 1)) % BRAND.len();
    let (a, b) = (BRAND[first], BRAND[second]);
    let trade: &[&str] = match (kind, sector) {
        (EmployerKind::GeneralContractor, _) => &["建设集团", "建工集团", "建筑工程", "建设工程", "建设"],
        (EmployerKind::Subcontractor, _) => {
            &["建筑安装工程", "装饰工程", "钢结构工程", "机电安装工程", "市政工程", "幕墙工程", "防水工程"]
        }
        (EmployerKind::LaborService, _) => &["劳务", "建筑劳务", "劳务分包", "建筑劳务分包", "人力资源"],
        (EmployerKind::Manufacturer, _) => {
            &["机械制造", "电子科技", "纺织", "服装", "新材料", "精密机械", "化工", "汽车零部件", "食品", "家具"]
        }
        (EmployerKind::Service, _) => {
            &["餐饮管理", "物业管理", "酒店管理", "商贸", "保洁服务", "家政服务", "超市", "保安服务"]
        }
        (_, Sector::Transport) => &["物流", "运输", "货运", "快递服务", "汽车运输"],
        _ => &["农业科技", "文化传媒", "园林绿化", "环保科技", "信息技术"],
    };
    let trade = trade[rng.index(trade.len())];
    let suffix = if trade.ends_with("集团") {
        "有限公司"
    } else if rng.bernoulli(0.08) {
        "股份有限公司"
    } else {
        "有限公司"
    };
    format!("{city}{a}{b}{trade}{suffix}")
}

/// A project name such as `苏州滨江花园住宅项目（二期）`; public works for government clients.
pub fn project_name(rng: &mut Rng, city: &str, government: bool) -> String {
    const PLACE: &[&str] = &[
        "翠湖", "金桥", "滨江", "新城", "东湖", "云台", "锦绣", "紫金", "天元", "星河", "御景", "香樟", "梧桐", "阳光",
        "望江", "北苑", "南湖", "西溪", "龙湾", "凤凰", "运河", "太湖", "长江", "青山", "花园", "中央",
    ];
    const PUBLIC: &[&str] = &[
        "道路改造工程",
        "小学新建工程",
        "人民医院扩建工程",
        "安置房项目",
        "污水处理厂工程",
        "综合管廊工程",
        "体育中心工程",
        "保障性住房项目",
        "河道整治工程",
        "标准厂房工程",
    ];
    const PRIVATE: &[&str] =
        &["花园住宅项目", "商业综合体项目", "公寓项目", "写字楼项目", "住宅小区项目", "府邸项目", "广场项目"];
    const PHASE: &[&str] = &["（一期）", "（二期）", "（三期）"];
    let place = PLACE[rng.index(PLACE.len())];
    let kind = if government { PUBLIC[rng.index(PUBLIC.len())] } else { PRIVATE[rng.index(PRIVATE.len())] };
    let phase = if rng.bernoulli(0.3) { PHASE[rng.index(PHASE.len())] } else { "" };
    format!("{city}{place}{kind}{phase}")
}

/// Where and in what trade a worker is hired: sets the age, sex and birthplace mix of new ID numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerProfile {
    Construction,
    Manufacturing,
    Services,
    Transport,
}

/// An 18-character resident ID-card number, stored inline (workers are many; no heap allocation each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdCard([u8; 18]);

impl IdCard {
    /// The number as text.
    pub fn as_str(&self) -> &str {
        // Built only from ASCII digits and 'X'.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// The ISO 7064 MOD 11-2 check character of an ID-card number (GB 11643) over its first 17 digits.
pub fn id_card_check(first17: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

/// Birthplace counties of workers (real county-level codes of the province and of the provinces its migrant
/// workers mostly come from), grouped by origin.
const BIRTHPLACES: &[(u32, Origin)] = &[
    (320321, Origin::Local),
    (320322, Origin::Local),
    (320324, Origin::Local),
    (320381, Origin::Local),
    (320826, Origin::Local),
    (320830, Origin::Local),
    (320923, Origin::Local),
    (320925, Origin::Local),
    (321322, Origin::Local),
    (321323, Origin::Local),
    (320724, Origin::Local),
    (321283, Origin::Local),
    (320106, Origin::Local),
    (320506, Origin::Local),
    (320205, Origin::Local),
    (341221, Origin::Anhui),
    (341222, Origin::Anhui),
    (341225, Origin::Anhui),
    (341226, Origin::Anhui),
    (341623, Origin::Anhui),
    (341621, Origin::Anhui),
    (340421, Origin::Anhui),
    (341322, Origin::Anhui),
    (341324, Origin::Anhui),
    (411721, Origin::Henan),
    (411722, Origin::Henan),
    (411724, Origin::Henan),
    (411625, Origin::Henan),
    (411627, Origin::Henan),
    (411424, Origin::Henan),
    (410523, Origin::Henan),
    (510722, Origin::Sichuan),
    (511321, Origin::Sichuan),
    (511322, Origin::Sichuan),
    (511623, Origin::Sichuan),
    (513723, Origin::Sichuan),
    (430524, Origin::Far),
    (431021, Origin::Far),
    (361025, Origin::Far),
    (360428, Origin::Far),
    (522422, Origin::Far),
    (522426, Origin::Far),
    (371321, Origin::Far),
    (371723, Origin::Far),
    (421023, Origin::Far),
    (500228, Origin::Far),
    (620421, Origin::Far),
    (532128, Origin::Far),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Local,
    Anhui,
    Henan,
    Sichuan,
    Far,
}

/// The first birth date the factory issues; ages are clamped well inside the range.
const BIRTH_EPOCH: (i32, u32, u32) = (1950, 1, 1);
/// Days from `BIRTH_EPOCH` covered by the factory (1950..2009).
const BIRTH_DAYS: usize = 21_915;
/// Sequence slots per (birthplace, birth date, sex): 3-digit sequences whose last digit carries the sex.
const SLOTS: u16 = 499;

/// Issues unique, valid ID-card numbers.
///
/// Uniqueness is by construction, not by remembering every number issued: each (birthplace, birth date, sex)
/// keeps a counter of sequence numbers handed out, and the counter is mapped through a per-combination
/// permutation so sequence numbers look scattered. Memory is fixed (about 4 MB), whatever the number of workers.
pub struct IdCardFactory {
    counters: Vec<u16>,
    epoch: Date,
    salt: u64,
    local_weights: [Vec<f64>; 4],
}

impl IdCardFactory {
    /// A factory whose sequence scrambling depends on `seed`.
    pub fn new(seed: u64) -> IdCardFactory {
        let epoch = Date::from_ymd(BIRTH_EPOCH.0, BIRTH_EPOCH.1, BIRTH_EPOCH.2).unwrap_or(Date::from_days(-7305));
        let weights_for = |profile: WorkerProfile| -> Vec<f64> {
            // Share of each origin group among the profile's workers.
            let share = |o: Origin| match (profile, o) {
                (WorkerProfile::Construction, Origin::Local) => 0.30,
                (WorkerProfile::Construction, Origin::Anhui) => 0.25,
                (WorkerProfile::Construction, Origin::Henan) => 0.17,
                (WorkerProfile::Construction, Origin::Sichuan) => 0.10,
                (WorkerProfile::Construction, Origin::Far) => 0.18,
                (WorkerProfile::Manufacturing, Origin::Local) => 0.45,
                (WorkerProfile::Manufacturing, Origin::Anhui) => 0.18,
                (WorkerProfile::Manufacturing, Origin::Henan) => 0.10,
                (WorkerProfile::Manufacturing, Origin::Sichuan) => 0.07,
                (WorkerProfile::Manufacturing, Origin::Far) => 0.20,
                (_, Origin::Local) => 0.62,
                (_, Origin::Anhui) => 0.14,
                (_, Origin::Henan) => 0.08,
                (_, Origin::Sichuan) => 0.04,
                (_, Origin::Far) => 0.12,
            };
            BIRTHPLACES
                .iter()
                .map(|(_, o)| share(*o) / BIRTHPLACES.iter().filter(|(_, x)| x == o).count() as f64)
                .collect()
        };
        IdCardFactory {
            counters: vec![0; BIRTHPLACES.len() * BIRTH_DAYS * 2],
            epoch,
            salt: mix64(seed ^ 0x1D_CA4D),
            local_weights: [
                weights_for(WorkerProfile::Construction),
                weights_for(WorkerProfile::Manufacturing),
                weights_for(WorkerProfile::Services),
                weights_for(WorkerProfile::Transport),
            ],
        }
    }

    /// A new, never issued ID-card number for a worker of `profile` hired on `today`.
    pub fn issue(&mut self, rng: &mut Rng, profile: WorkerProfile, today: Date) -> IdCard {
        let (mean_age, sd_age, min_age, max_age, male_share) = match profile {
            WorkerProfile::Construction => (45.0, 9.0, 20.0, 62.0, 0.9),
            WorkerProfile::Manufacturing => (32.0, 8.0, 18.0, 55.0, 0.6),
            WorkerProfile::Services => (31.0, 9.0, 18.0, 58.0, 0.4),
            WorkerProfile::Transport => (40.0, 8.0, 21.0, 60.0, 0.92),
        };
        let weights = &self.local_weights[profile as usize];
        loop {
            let place = rng.weighted(weights);
            let age = rng.gauss(mean_age, sd_age).clamp(min_age, max_age);
            let birth = today.add_days(-(age * 365.25) as i32);
            let day = birth.days_since(self.epoch);
            if day < 0 || day as usize >= BIRTH_DAYS {
                continue;
            }
            let male = rng.bernoulli(male_share);
            let slot = (place * BIRTH_DAYS + day as usize) * 2 + usize::from(male);
            let used = self.counters[slot];
            if used >= SLOTS {
                continue;
            }
            self.counters[slot] = used + 1;
            // A permutation of 1..=SLOTS per combination: an affine map with a multiplier coprime to SLOTS.
            let offset = mix64(self.salt ^ slot as u64) % u64::from(SLOTS);
            let s = (u64::from(used) * 37 + offset) % u64::from(SLOTS) + 1;
            let sequence = if male { 2 * s - 1 } else { 2 * s };
            let (y, m, d) = birth.ymd();
            let text = format!("{:06}{y:04}{m:02}{d:02}{sequence:03}", BIRTHPLACES[place].0);
            let mut id = [0u8; 18];
            id[..17].copy_from_slice(&text.as_bytes()[..17]);
            id[17] = id_card_check(&id[..17]);
            return IdCard(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_card_check_matches_the_standard_examples() {
        assert_eq!(id_card_check(b"11010519491231002"), b'X');
        assert_eq!(id_card_check(b"44052418800101001"), b'4');
        let mut factory = IdCardFactory::new(7);
        let mut rng = Rng::new(1);
        let today = Date::from_ymd(2024, 6, 1).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..20_000 {
            let profile = [WorkerProfile::Construction, WorkerProfile::Services][i % 2];
            let id = factory.issue(&mut rng, profile, today);
            let s = id.as_str();
            assert_eq!(s.len(), 18);
            assert_eq!(id_card_check(&s.as_bytes()[..17]), s.as_bytes()[17]);
            assert!(Date::parse(&format!("{}-{}-{}", &s[6..10], &s[10..12], &s[12..14])).is_some(), "{s}");
            assert!(seen.insert(id), "duplicate {s}");
        }
    }

    #[test]
    fn credit_codes_are_valid_and_unique() {
        // A real company's code (Xiaomi): the organisation check is 2, the credit check Q.
        assert_eq!(organisation_check(b"55138508"), b'2');
        assert_eq!(credit_code_check(b"91110108551385082"), b'Q');
        let region = RegionCode::from_value(320102).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for serial in 0..5000 {
            for new_style in [false, true] {
                let code = credit_code(region, serial, new_style);
                assert_eq!(code.len(), 18);
                assert!(code.starts_with("91320102"));
                assert!(code.bytes().all(|c| USCC_CHARS.contains(&c)), "{code}");
                assert!(seen.insert(code));
            }
        }
    }

    #[test]
    fn province_has_thirteen_cities_with_their_real_districts() {
        let p = province();
        assert_eq!(p.len(), 13);
        assert!(p.iter().all(|c| (5..=11).contains(&c.districts.len())));
        let names = regions::RegionNames::builtin();
        for c in &p {
            for d in &c.districts {
                let label = names.label(*d);
                assert!(label.starts_with(c.name) && !label.contains(&d.to_string()), "{d}: {label}");
            }
        }
        assert_eq!(p[0].districts[0].to_string(), "320102");
        assert_eq!(p[12].districts[0].to_string(), "321302");
    }
}
