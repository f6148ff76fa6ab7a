//! Removing personal data from a request before it is published (with the resident's consent):
//! phone numbers, ID numbers and exact house numbers are masked digit by digit; people's names
//! become 某 after their surname (李明 → 李某), as Chinese public notices write them. Names are
//! found where the text introduces a person (我叫…, 联系人…, 村支书…) or addresses one
//! (…先生, …大爷): a name standing alone in free text cannot be told from a place or a shop
//! reliably, and a false mask costs less than a published name, so every rule errs towards
//! masking.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// The most common Chinese surnames (together over 85% of the population), single characters
/// and the frequent compound ones.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝";
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "百里",
];

const DIGIT: &str = "[0-9０-９]";

static PHONE_OR_ID: LazyLock<Regex> = LazyLock::new(|| {
    // Longest first: an ID number (18 or 15), a mobile written with spaces or dashes, a
    // landline with its area code, a bare mobile.
    let d = DIGIT;
    Regex::new(&format!(
        "{d}{{17}}[0-9０-９Xx]|{d}{{15}}|[1１][3-9３-９]{d}[ -]?{d}{{4}}[ -]?{d}{{4}}|0{d}{{2,3}}[-－ ]?{d}{{7,8}}|{d}{{7,8}}"
    ))
    .unwrap_or_else(|e| unreachable!("{e}"))
});

static HOUSE_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    let d = DIGIT;
    Regex::new(&format!(
        "({d}+|[一二三四五六七八九十百]+)(号楼|号院|号|栋|幢|单元|室|楼|层|户|排)"
    ))
    .unwrap_or_else(|e| unreachable!("{e}"))
});

fn surname_class() -> String {
    let compounds = COMPOUND_SURNAMES.join("|");
    format!("(?:{compounds}|[{SURNAMES}])")
}

/// "我叫李明", "联系人：王建国", "村支书张有才": a marker, then surname and one or two more.
static INTRODUCED: LazyLock<Regex> = LazyLock::new(|| {
    let s = surname_class();
    Regex::new(&format!(
        "(我叫|我是|本人|姓名[:：]?\\s*|名叫|叫做|联系人[:：]?\\s*|投诉人[:：]?\\s*|举报人[:：]?\\s*|户主|村支书|支书|书记|村长|村主任|主任|会计|老板|经理|网格员|队长|所长|站长|车主|业主|房东|房主|邻居|司机|店主|厂长|包工头|工头)({s})([\\p{{Han}}]{{1,2}})"
    ))
    .unwrap_or_else(|e| unreachable!("{e}"))
});

/// "李明先生", "张桂兰大娘": surname and one or two more, then a form of address.
static ADDRESSED: LazyLock<Regex> = LazyLock::new(|| {
    let s = surname_class();
    Regex::new(&format!(
        "({s})([\\p{{Han}}]{{1,2}})(先生|女士|同志|大爷|大妈|大娘|大叔|大哥|大姐|阿姨|奶奶|爷爷|师傅|老人)"
    ))
    .unwrap_or_else(|e| unreachable!("{e}"))
});

/// Words that follow a marker like a given name would but are not one (我是李庄村的…).
const NOT_A_NAME: &[&str] = &[
    "村", "庄", "镇", "乡", "县", "家", "店", "厂", "街", "路", "区", "的", "在", "说", "也", "们",
    "和", "是", "已", "被", "都",
];

/// Characters that start the words after a name rather than end the name.
const FUNCTION_CHARS: &str = "不没说要就还也都在把让给跟是的了被又已却很";

fn stars(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_digit() || ('０'..='９').contains(&c) {
                '*'
            } else {
                c
            }
        })
        .collect()
}

fn mask_name(surname: &str, given: &str) -> String {
    // Keep the surname; 某 for the given name (李明 → 李某, 张桂兰 → 张某某).
    format!("{surname}{}", "某".repeat(given.chars().count()))
}

fn looks_like_given_name(given: &str) -> bool {
    !NOT_A_NAME.iter().any(|w| given.contains(w))
}

/// The text with names, phone and ID numbers and exact house numbers masked.
pub fn redact(text: &str) -> String {
    let out = PHONE_OR_ID.replace_all(text, |c: &Captures<'_>| stars(&c[0]));
    let out = HOUSE_NUMBER.replace_all(&out, |c: &Captures<'_>| {
        format!("{}{}", "*".repeat(c[1].chars().count()), &c[2])
    });
    let out = INTRODUCED.replace_all(&out, |c: &Captures<'_>| {
        // "刘二不给钱": a given name does not end in a word like 不 or 说; keep that word.
        let given = &c[3];
        let (given, rest) = match given.char_indices().nth(1) {
            Some((i, second)) if FUNCTION_CHARS.contains(second) => given.split_at(i),
            _ => (given, ""),
        };
        if looks_like_given_name(given) {
            format!("{}{}{rest}", &c[1], mask_name(&c[2], given))
        } else {
            c[0].to_owned()
        }
    });
    let out = ADDRESSED.replace_all(&out, |c: &Captures<'_>| {
        if looks_like_given_name(&c[2]) {
            format!("{}{}", mask_name(&c[1], &c[2]), &c[3])
        } else {
            c[0].to_owned()
        }
    });
    out.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_and_id_numbers_are_masked_in_any_spelling() {
        assert_eq!(redact("电话13800138000"), "电话***********");
        assert_eq!(
            redact("打138 0013 8000或0319-8000101"),
            "打*** **** ****或****-*******"
        );
        assert_eq!(
            redact("身份证13053419780315201X丢了"),
            "身份证*****************X丢了"
        );
        assert_eq!(redact("手机１３８００１３８０００"), "手机***********");
    }

    #[test]
    fn exact_house_numbers_lose_their_digits_but_the_street_stays() {
        assert_eq!(redact("城东村羊绒街18号门口"), "城东村羊绒街**号门口");
        assert_eq!(redact("幸福小区3号楼2单元502室"), "幸福小区*号楼*单元***室");
        assert_eq!(redact("住在三排"), "住在*排");
    }

    #[test]
    fn introduced_and_addressed_names_keep_only_the_surname() {
        assert_eq!(redact("我叫李明，家住连庄镇"), "我叫李某，家住连庄镇");
        assert_eq!(redact("联系人：王建国"), "联系人：王某某");
        assert_eq!(redact("村支书张有才不管"), "村支书张某某不管");
        assert_eq!(redact("隔壁赵桂兰大娘家"), "隔壁赵某某大娘家");
        assert_eq!(redact("欧阳明先生反映"), "欧阳某先生反映");
        assert_eq!(redact("已联系车主王建国挪车"), "已联系车主王某某挪车");
        assert_eq!(redact("包工头刘二不给钱"), "包工头刘某不给钱");
    }

    #[test]
    fn places_and_ordinary_words_are_left_alone() {
        let text = "我是王庄村的，村里路灯坏了三个月，希望尽快修好";
        assert_eq!(redact(text), text);
        assert_eq!(redact("清河县羊绒小镇"), "清河县羊绒小镇");
    }
}
