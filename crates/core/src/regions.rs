//! Names of administrative divisions (GB/T 2260), so that people read `苏州市 吴中区`, not `320506`. The
//! divisions of Jiangsu (the demo's province) are built in, as of the 2020s reforms (南通's 崇川区 and
//! 海门区, 无锡's 梁溪区 and 新吴区); names a dataset brings (the contract's optional `regions` table) are
//! laid over them. A code without a name is shown as the code.

use std::collections::HashMap;

use crate::contract::{RegionCode, RegionPrefix};

/// A district or county: its 6-digit code and name.
pub type District = (u32, &'static str);
/// A city: its code's 4 digits, its name and its districts.
pub type City = (u32, &'static str, &'static [District]);

/// Jiangsu: each city (its code's 4 digits, name) and its districts and counties (6-digit code, name).
pub const JIANGSU: &[City] = &[
    (
        3201,
        "南京市",
        &[
            (320102, "玄武区"),
            (320104, "秦淮区"),
            (320105, "建邺区"),
            (320106, "鼓楼区"),
            (320111, "浦口区"),
            (320113, "栖霞区"),
            (320114, "雨花台区"),
            (320115, "江宁区"),
            (320116, "六合区"),
            (320117, "溧水区"),
            (320118, "高淳区"),
        ],
    ),
    (
        3202,
        "无锡市",
        &[
            (320205, "锡山区"),
            (320206, "惠山区"),
            (320211, "滨湖区"),
            (320213, "梁溪区"),
            (320214, "新吴区"),
            (320281, "江阴市"),
            (320282, "宜兴市"),
        ],
    ),
    (
        3203,
        "徐州市",
        &[
            (320302, "鼓楼区"),
            (320303, "云龙区"),
            (320305, "贾汪区"),
            (320311, "泉山区"),
            (320312, "铜山区"),
            (320321, "丰县"),
            (320322, "沛县"),
            (320324, "睢宁县"),
            (320381, "新沂市"),
            (320382, "邳州市"),
        ],
    ),
    (
        3204,
        "常州市",
        &[
            (320402, "天宁区"),
            (320404, "钟楼区"),
            (320411, "新北区"),
            (320412, "武进区"),
            (320413, "金坛区"),
            (320481, "溧阳市"),
        ],
    ),
    (
        3205,
        "苏州市",
        &[
            (320505, "虎丘区"),
            (320506, "吴中区"),
            (320507, "相城区"),
            (320508, "姑苏区"),
            (320509, "吴江区"),
            (320581, "常熟市"),
            (320582, "张家港市"),
            (320583, "昆山市"),
            (320585, "太仓市"),
        ],
    ),
    (
        3206,
        "南通市",
        &[
            (320612, "通州区"),
            (320613, "崇川区"),
            (320614, "海门区"),
            (320623, "如东县"),
            (320681, "启东市"),
            (320682, "如皋市"),
            (320685, "海安市"),
        ],
    ),
    (
        3207,
        "连云港市",
        &[
            (320703, "连云区"),
            (320706, "海州区"),
            (320707, "赣榆区"),
            (320722, "东海县"),
            (320723, "灌云县"),
            (320724, "灌南县"),
        ],
    ),
    (
        3208,
        "淮安市",
        &[
            (320803, "淮安区"),
            (320804, "淮阴区"),
            (320812, "清江浦区"),
            (320813, "洪泽区"),
            (320826, "涟水县"),
            (320830, "盱眙县"),
            (320831, "金湖县"),
        ],
    ),
    (
        3209,
        "盐城市",
        &[
            (320902, "亭湖区"),
            (320903, "盐都区"),
            (320904, "大丰区"),
            (320921, "响水县"),
            (320922, "滨海县"),
            (320923, "阜宁县"),
            (320924, "射阳县"),
            (320925, "建湖县"),
            (320981, "东台市"),
        ],
    ),
    (
        3210,
        "扬州市",
        &[
            (321002, "广陵区"),
            (321003, "邗江区"),
            (321012, "江都区"),
            (321023, "宝应县"),
            (321081, "仪征市"),
            (321084, "高邮市"),
        ],
    ),
    (
        3211,
        "镇江市",
        &[
            (321102, "京口区"),
            (321111, "润州区"),
            (321112, "丹徒区"),
            (321181, "丹阳市"),
            (321182, "扬中市"),
            (321183, "句容市"),
        ],
    ),
    (
        3212,
        "泰州市",
        &[
            (321202, "海陵区"),
            (321203, "高港区"),
            (321204, "姜堰区"),
            (321281, "兴化市"),
            (321282, "靖江市"),
            (321283, "泰兴市"),
        ],
    ),
    (
        3213,
        "宿迁市",
        &[(321302, "宿城区"), (321311, "宿豫区"), (321322, "沭阳县"), (321323, "泗阳县"), (321324, "泗洪县")],
    ),
];

/// The built-in divisions, the province first, then each city followed by its districts.
pub fn divisions() -> Vec<(RegionPrefix, &'static str)> {
    let prefix = |v: u32| RegionPrefix::parse(&v.to_string()).expect("a 2, 4 or 6-digit code");
    let mut out = vec![(prefix(32), "江苏省")];
    for (city, city_name, districts) in JIANGSU {
        out.push((prefix(*city), *city_name));
        out.extend(districts.iter().map(|(code, name)| (prefix(*code), *name)));
    }
    out
}

/// Division names by prefix (2, 4 or 6 digits).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegionNames {
    names: HashMap<RegionPrefix, String>,
}

impl RegionNames {
    /// The built-in divisions: Jiangsu's.
    pub fn builtin() -> RegionNames {
        RegionNames { names: divisions().into_iter().map(|(p, n)| (p, n.to_string())).collect() }
    }

    /// These names with `other`'s laid over them.
    pub fn with(mut self, other: impl IntoIterator<Item = (RegionPrefix, String)>) -> RegionNames {
        self.names.extend(other);
        self
    }

    /// The name of a division, if known.
    pub fn name(&self, prefix: RegionPrefix) -> Option<&str> {
        self.names.get(&prefix).map(String::as_str)
    }

    /// A district as people read it: its city's name and its own (`苏州市 吴中区`), whichever are known,
    /// else the code.
    pub fn label(&self, code: RegionCode) -> String {
        let text = code.to_string();
        let city = RegionPrefix::parse(&text[..4]).and_then(|p| self.name(p));
        let district = self.name(RegionPrefix::district(code));
        match (city, district) {
            (Some(c), Some(d)) => format!("{c} {d}"),
            (None, Some(d)) => d.to_string(),
            (Some(c), None) => format!("{c} {text}"),
            (None, None) => text,
        }
    }

    /// A prefix as people read it (a city, a district, the province), else the code.
    pub fn prefix_label(&self, prefix: RegionPrefix) -> String {
        match RegionCode::parse(&prefix.to_string()) {
            Some(code) => self.label(code),
            None => self.name(prefix).map_or_else(|| prefix.to_string(), str::to_string),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisions_read_as_names_and_unknown_codes_as_codes() {
        let names = RegionNames::builtin();
        let code = |s: &str| RegionCode::parse(s).unwrap();
        assert_eq!(names.label(code("320506")), "苏州市 吴中区");
        assert_eq!(names.label(code("320102")), "南京市 玄武区");
        assert_eq!(names.label(code("329999")), "329999");
        assert_eq!(names.label(code("320599")), "苏州市 320599");
        assert_eq!(names.prefix_label(RegionPrefix::parse("3205").unwrap()), "苏州市");
        assert_eq!(names.prefix_label(RegionPrefix::parse("32").unwrap()), "江苏省");
        // Every built-in code is a district of its own city and no code is listed twice.
        let mut seen = std::collections::HashSet::new();
        for (city, _, districts) in JIANGSU {
            assert!(!districts.is_empty());
            for (d, _) in *districts {
                assert_eq!(d / 100, *city, "{d}");
                assert!(seen.insert(*d), "{d} twice");
            }
        }
        // A dataset's own names are laid over the built-in ones.
        let renamed = names.with([(RegionPrefix::parse("320506").unwrap(), "吴中".to_string())]);
        assert_eq!(renamed.label(code("320506")), "苏州市 吴中");
    }
}
