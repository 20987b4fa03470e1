//! Screen text in English and Russian: one catalogue per language. A missing
//! entry is a compile error, so the two cannot drift apart.

use crate::domain::{Money, Program, Stage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    /// From `ALMONER_LANG`, else `LC_ALL` / `LC_MESSAGES` / `LANG` (`ru_RU.UTF-8` → Russian).
    pub fn from_env() -> Lang {
        for var in ["ALMONER_LANG", "LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(v) = std::env::var(var)
                && !v.is_empty()
            {
                return if v.starts_with("ru") { Lang::Ru } else { Lang::En };
            }
        }
        Lang::En
    }

    /// `lang = "ru"` in `$XDG_CONFIG_HOME/almoner/config.toml` wins over the
    /// locale. A config file that cannot be read is reported, and the locale used.
    pub fn from_config_or_env(config: Option<&std::path::Path>) -> (Lang, Option<String>) {
        let Some(path) = config.filter(|p| p.exists()) else { return (Lang::from_env(), None) };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return (Lang::from_env(), Some(format!("{}: {e}", path.display()))),
        };
        #[derive(serde::Deserialize)]
        struct Config {
            lang: Option<String>,
        }
        match toml::from_str::<Config>(&text) {
            Ok(Config { lang: None }) => (Lang::from_env(), None),
            Ok(Config { lang: Some(l) }) => match l.as_str() {
                "ru" => (Lang::Ru, None),
                "en" => (Lang::En, None),
                other => {
                    (Lang::from_env(), Some(format!("{}: lang = {other:?}: write \"en\" or \"ru\"", path.display())))
                }
            },
            Err(e) => {
                let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1)).unwrap_or(1);
                (Lang::from_env(), Some(format!("{}:{line}: {}", path.display(), e.message().trim())))
            }
        }
    }

    pub fn t(self) -> &'static Catalogue {
        match self {
            Lang::En => &EN,
            Lang::Ru => &RU,
        }
    }

    /// Amounts the way staff write them: `1 500,00 ₽` in Russian, `1,500.00` in English.
    pub fn money(self, m: Money) -> String {
        match self {
            Lang::En => m.en(),
            Lang::Ru => m.ru(),
        }
    }

    /// An amount in `currency`: roubles as [`Lang::money`] writes them, any other with its code
    /// (`1 405,31 EUR`), so money in another currency is never read as roubles.
    pub fn money_in(self, m: Money, currency: crate::domain::Currency) -> String {
        if currency == crate::domain::Currency::RUB {
            return self.money(m);
        }
        let plain = match self {
            Lang::En => m.en(),
            Lang::Ru => m.ru().trim_end_matches(" ₽").to_string(),
        };
        format!("{plain} {currency}")
    }

    /// Whole rubles, for narrow places: `1 318 000 ₽` / `1,318,000`.
    pub fn money_short(self, m: Money) -> String {
        let rubles = Money::from_minor(m.minor() / 100 * 100);
        let full = self.money(rubles);
        match self {
            Lang::En => full.trim_end_matches(".00").to_string(),
            Lang::Ru => full.replace(",00 ₽", " ₽"),
        }
    }

    pub fn stage(self, s: Stage) -> &'static str {
        let t = self.t();
        match s {
            Stage::Qualification => t.qualification,
            Stage::Documents => t.documents,
            Stage::Fundraising => t.fundraising,
            Stage::Payment => t.payment,
            Stage::Paid => t.paid,
            Stage::Closed => t.closed,
            Stage::Rejected => t.rejected,
            Stage::OnHold => t.on_hold,
        }
    }

    pub fn program(self, p: Program) -> &'static str {
        let t = self.t();
        match p {
            Program::Treatment => t.treatment,
            Program::Rehabilitation => t.rehabilitation,
            Program::Equipment => t.equipment,
            Program::Research => t.research,
        }
    }
}

pub struct Catalogue {
    pub board: &'static str,
    pub donations: &'static str,
    pub payments: &'static str,
    pub imports: &'static str,
    pub reviews: &'static str,
    pub work: &'static str,
    pub notices: &'static str,
    pub reports: &'static str,
    pub segments: &'static str,
    pub overdue: &'static str,
    pub no_role: &'static str,
    pub new_record: &'static str,
    pub earlier_record: &'static str,
    pub name: &'static str,
    pub born: &'static str,
    pub city: &'static str,
    pub reviews_hint: &'static str,
    pub donor_pairs: &'static str,
    pub donor_pairs_tab: &'static str,
    pub donor_pairs_hint: &'static str,
    pub privacy: &'static str,
    pub privacy_tab: &'static str,
    pub privacy_hint: &'static str,
    pub privacy_columns: [&'static str; 5],
    pub kind: &'static str,
    pub person: &'static str,
    pub organisation: &'static str,
    pub inn: &'static str,
    pub email: &'static str,
    pub phone: &'static str,
    pub gifts: &'static str,
    pub total: &'static str,
    pub case: &'static str,
    pub split: &'static str,
    pub help: &'static str,
    pub qualification: &'static str,
    pub documents: &'static str,
    pub fundraising: &'static str,
    pub payment: &'static str,
    pub paid: &'static str,
    pub closed: &'static str,
    pub rejected: &'static str,
    pub on_hold: &'static str,
    pub treatment: &'static str,
    pub rehabilitation: &'static str,
    pub equipment: &'static str,
    pub research: &'static str,
    pub cases: &'static str,
    pub target: &'static str,
    pub collected: &'static str,
    pub still_needed: &'static str,
    pub days: &'static str,
    pub filter: &'static str,
    pub beneficiary: &'static str,
    pub clinic: &'static str,
    pub diagnosis: &'static str,
    pub stage: &'static str,
    pub overview: &'static str,
    pub allocations: &'static str,
    pub timeline: &'static str,
    pub notes: &'static str,
    pub present: &'static str,
    pub missing: &'static str,
    pub received: &'static str,
    pub channel: &'static str,
    pub payer: &'static str,
    pub amount: &'static str,
    pub unallocated: &'static str,
    pub designation: &'static str,
    pub invoice: &'static str,
    pub payee: &'static str,
    pub waiting: &'static str,
    pub donation: &'static str,
    pub to_place: &'static str,
    pub placing: &'static str,
    pub left: &'static str,
    pub marked: &'static str,
    pub too_much: &'static str,
    pub over_remainder: &'static str,
    pub nothing_here: &'static str,
    /// The import preview of a register that does not reconcile: title word, the problems'
    /// heading (count, what Enter does), and what the prompt asks.
    pub unreconciled: &'static str,
    pub problems_hint: &'static str,
    pub accept_ask: &'static str,
    pub accept_why: &'static str,
    pub keys_hint: &'static str,
    pub split_hint: &'static str,
    pub notes_hint: &'static str,
    pub pending_chord: &'static str,
    pub written: &'static str,
    pub working: &'static str,
    pub confirm_place: &'static str,
}

pub const EN: Catalogue = Catalogue {
    board: "Pipeline",
    donations: "Donations",
    payments: "Payments",
    imports: "Imports",
    reviews: "Reviews",
    work: "My work",
    notices: "Notices",
    reports: "Reports",
    segments: "Segments",
    overdue: "overdue",
    no_role: "no role recorded: every role's work",
    new_record: "New record",
    earlier_record: "Earlier record",
    name: "Name",
    born: "Born",
    city: "City",
    reviews_hint: "Tab field · ← take the new record's · → keep the earlier's · m merge · x keep apart · u undo",
    donor_pairs: "Donor duplicates",
    donor_pairs_tab: "Donors",
    donor_pairs_hint: "m merge (fewer gifts into the other) · x keep apart · u undo",
    privacy: "Personal-data plan",
    privacy_tab: "Privacy",
    privacy_hint: "x hold back · p plan as of today · u undo · `almoner gdpr run` carries it out",
    privacy_columns: ["due on", "step", "who", "name", "why"],
    kind: "Kind",
    person: "person",
    organisation: "organisation",
    inn: "INN",
    email: "E-mail",
    phone: "Phone",
    gifts: "Gifts",
    total: "Total",
    case: "Case",
    split: "Split",
    help: "Keys",
    qualification: "Qualification",
    documents: "Documents",
    fundraising: "Fundraising",
    payment: "Payment",
    paid: "Paid",
    closed: "Closed",
    rejected: "Rejected",
    on_hold: "On hold",
    treatment: "treatment",
    rehabilitation: "rehabilitation",
    equipment: "equipment",
    research: "research",
    cases: "cases",
    target: "Target",
    collected: "Collected",
    still_needed: "Still needed",
    days: "d",
    filter: "Filter",
    beneficiary: "Beneficiary",
    clinic: "Clinic",
    diagnosis: "Diagnosis",
    stage: "Stage",
    overview: "Overview",
    allocations: "Allocations",
    timeline: "Timeline",
    notes: "Notes",
    present: "present",
    missing: "missing",
    received: "Received",
    channel: "Channel",
    payer: "Payer",
    amount: "Amount",
    unallocated: "Unallocated",
    designation: "Designation",
    invoice: "Invoice",
    payee: "Payee",
    waiting: "Waiting",
    donation: "Donation",
    to_place: "to place",
    placing: "placing",
    left: "left",
    marked: "marked",
    too_much: "more than it needs",
    over_remainder: "more than the donation has left",
    nothing_here: "nothing here",
    unreconciled: "does not reconcile",
    problems_hint: "problem(s): Enter asks why you accept them and imports the rest; Esc drops the file",
    accept_ask: "does not reconcile: why accept its problems? Enter imports the rest, Esc: none",
    accept_why: "say why the problems are acceptable: accept-problems REASON (nothing was imported)",
    keys_hint: "? keys  : command  q quit",
    split_hint: "type an amount · f fill · Space mark · e evenly · o oldest first · Enter confirm · Esc leave",
    notes_hint: "Ctrl-S save · Esc leave without saving",
    pending_chord: "waiting for the rest of the chord (Esc cancels)",
    written: "written",
    working: "working",
    confirm_place: "Place this designated donation on its case? y / n",
};

pub const RU: Catalogue = Catalogue {
    board: "Воронка",
    donations: "Пожертвования",
    payments: "Оплаты",
    imports: "Импорт",
    reviews: "Совпадения",
    work: "Мои дела",
    notices: "Уведомления",
    reports: "Отчёты",
    segments: "Сегменты",
    overdue: "просрочено",
    no_role: "роль не указана: дела всех ролей",
    new_record: "Новая запись",
    earlier_record: "Прежняя запись",
    name: "Имя",
    born: "Рождён",
    city: "Город",
    reviews_hint: "Tab поле · ← взять из новой · → оставить прежнее · m объединить · x разные дети · u отменить",
    donor_pairs: "Дубли жертвователей",
    donor_pairs_tab: "Дубли",
    donor_pairs_hint: "m объединить (у кого меньше пожертвований — в другого) · x разные люди · u отменить",
    privacy: "План по персональным данным",
    privacy_tab: "ПДн",
    privacy_hint: "x не трогать · p план на сегодня · u отменить · выполняет `almoner gdpr run`",
    privacy_columns: ["срок", "шаг", "кто", "имя", "почему"],
    kind: "Вид",
    person: "человек",
    organisation: "организация",
    inn: "ИНН",
    email: "E-mail",
    phone: "Телефон",
    gifts: "Пожертв.",
    total: "Сумма",
    case: "Заявка",
    split: "Распределение",
    help: "Клавиши",
    qualification: "Квалификация",
    documents: "Документы",
    fundraising: "Сбор",
    payment: "К оплате",
    paid: "Оплачено",
    closed: "Закрыто",
    rejected: "Отказ",
    on_hold: "Пауза",
    treatment: "лечение",
    rehabilitation: "реабилитация",
    equipment: "оборудование",
    research: "исследования",
    cases: "заявок",
    target: "Цель",
    collected: "Собрано",
    still_needed: "Осталось",
    days: "дн",
    filter: "Фильтр",
    beneficiary: "Подопечный",
    clinic: "Клиника",
    diagnosis: "Диагноз",
    stage: "Этап",
    overview: "Обзор",
    allocations: "Распределения",
    timeline: "История",
    notes: "Заметки",
    present: "есть",
    missing: "нет",
    received: "Получено",
    channel: "Канал",
    payer: "Плательщик",
    amount: "Сумма",
    unallocated: "Не распределено",
    designation: "Назначение",
    invoice: "Счёт",
    payee: "Получатель",
    waiting: "Ждёт",
    donation: "Пожертвование",
    to_place: "к распределению",
    placing: "распределяется",
    left: "остаток",
    marked: "отмечено",
    too_much: "больше, чем нужно",
    over_remainder: "больше остатка пожертвования",
    nothing_here: "здесь пусто",
    unreconciled: "не сходится",
    problems_hint: "проблем(ы): Enter спросит, почему вы их принимаете, и загрузит остальное; Esc — отказаться",
    accept_ask: "не сходится: почему принять проблемы? Enter загрузит остальное, Esc — отмена",
    accept_why: "напишите причину: accept-problems ПРИЧИНА (ничего не загружено)",
    keys_hint: "? клавиши  : команда  q выход",
    split_hint: "сумма · f дополнить · Пробел отметить · e поровну · o по очереди · Enter записать · Esc выйти",
    notes_hint: "Ctrl-S сохранить · Esc выйти без сохранения",
    pending_chord: "ждём продолжения сочетания (Esc отменяет)",
    written: "записано",
    working: "выполняется",
    confirm_place: "Распределить именное пожертвование на его заявку? y / n",
};
