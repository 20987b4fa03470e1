//! The console driven by key strings against a real database (each test on a
//! SQLite file and on PostgreSQL), asserting on the database and on what a
//! terminal would show (ratatui's TestBackend): the same screens on both.

mod common;

use almoner::app::i18n::Lang;
use almoner::app::keymap::{Keymap, PRESETS, parse};
use almoner::app::keys::parse_keys;
use almoner::app::{App, ScreenId};
use almoner::domain::{Designation, Money, Stage};
use almoner::store::{DonationQuery, Plan, Store};
use almoner::ui::{Theme, draw};
use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub struct Console {
    pub t: TestDb,
    pub app: App,
    pub jobs: tokio::sync::mpsc::UnboundedReceiver<almoner::app::JobEvent>,
}

fn anchor() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
}

impl Console {
    async fn new(t: TestDb) -> Console {
        Console::with(t, Lang::En).await
    }

    async fn with(t: TestDb, lang: Lang) -> Console {
        let store = t.as_actor("operator").await;
        store.seed_demo_at(1, anchor()).await.unwrap();
        let (mut app, jobs) = App::new(store, Keymap::preset("default"), &[], lang).await;
        app.frozen_now = Some(Utc.with_ymd_and_hms(2026, 6, 30, 12, 0, 0).unwrap());
        app.rows = 24;
        app.refresh().await.unwrap();
        Console { t, app, jobs }
    }

    /// Waits for the background job under way to finish, handing its reports to the app as the
    /// console's loop would; returns the progress labels seen.
    async fn settle(&mut self) -> Vec<String> {
        use almoner::app::JobEvent;
        let mut seen = Vec::new();
        loop {
            let event = tokio::time::timeout(std::time::Duration::from_secs(60), self.jobs.recv())
                .await
                .expect("the job reports within a minute")
                .expect("the job channel stays open");
            let last = !matches!(event, JobEvent::Progress(_));
            if let JobEvent::Progress(p) = &event {
                seen.push(p.label.clone());
                assert!(self.app.progress.is_some(), "a bar is up while the job runs");
            }
            self.app.job_event(event).await;
            if last {
                return seen;
            }
        }
    }

    /// Waits for the segment count asked for by the filters last typed (earlier asks, if typing
    /// was slow enough for them to run, are dropped on arrival).
    async fn counted(&mut self) {
        while self.app.segments.typing.as_ref().is_some_and(|t| t.counting.is_some()) {
            self.settle().await;
        }
    }

    async fn keys(&mut self, keys: &str) {
        for k in parse_keys(keys).unwrap() {
            self.app.key(k).await;
        }
    }

    /// Types text into whatever has focus (prompt, amount, notes).
    async fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.app.key(almoner::app::keys::Key::char(c)).await;
        }
    }

    fn screen(&mut self, w: u16, h: u16) -> String {
        self.app.rows = h as usize;
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, &self.app, Theme { color: false })).unwrap();
        t.backend().to_string()
    }

    fn status(&self) -> String {
        self.app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default()
    }

    fn store(&self) -> &Store {
        &self.app.store
    }

    /// The same database as another person, on another connection.
    async fn other(&self, actor: &str) -> Store {
        self.t.as_actor(actor).await
    }
}

/// The first unrestricted donation with money to place, as the inbox lists it.
async fn first_unrestricted(store: &Store) -> (i64, Money) {
    let d = store
        .list_donations(&DonationQuery {
            unallocated_only: true,
            designated: Some(false),
            limit: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    (d[0].id, d[0].unallocated)
}

async fn first_in(store: &Store, stage: Stage) -> almoner::domain::Case {
    let q = almoner::store::CaseQuery { stage: Some(stage), limit: Some(1), ..Default::default() };
    store.list_cases(&q).await.unwrap().remove(0)
}

on_both_engines! {
    async fn snapshots_of_every_screen_at_both_sizes(t: TestDb) {
        let mut c = Console::new(t).await;
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            c.keys("g b").await;
            c.app.refresh().await.unwrap();
            insta::assert_snapshot!(format!("board_{w}x{h}"), c.screen(w, h));
            c.keys("<Right> <Right> <Enter>").await;
            insta::assert_snapshot!(format!("case_{w}x{h}"), c.screen(w, h));
            c.keys("<Tab>").await;
            insta::assert_snapshot!(format!("case_documents_{w}x{h}"), c.screen(w, h));
            c.keys("g d").await;
            insta::assert_snapshot!(format!("donations_{w}x{h}"), c.screen(w, h));
            c.keys("/").await;
            c.type_text("designated=no").await;
            c.keys("<Enter> <Enter>").await;
            assert_eq!(c.app.screen, ScreenId::Split, "{}", c.status());
            c.type_text("150").await;
            insta::assert_snapshot!(format!("split_{w}x{h}"), c.screen(w, h));
            c.keys("<Esc> g p").await;
            insta::assert_snapshot!(format!("payments_{w}x{h}"), c.screen(w, h));
            c.keys("?").await;
            insta::assert_snapshot!(format!("help_{w}x{h}"), c.screen(w, h));
            c.keys("<Esc>").await;
            c.app.board.filter = Default::default();
        }
    }
}

on_both_engines! {
    async fn split_by_keys_writes_everything_in_one_go(t: TestDb) {
        let mut c = Console::new(t).await;
        let (donation, unallocated) = first_unrestricted(c.store()).await;
        c.keys("g d / ").await;
        c.type_text("designated=no").await;
        c.keys("<Enter> <Enter>").await;
        assert_eq!(c.app.screen, ScreenId::Split);
        let split = c.app.split.as_ref().unwrap();
        assert_eq!(split.donation.id, donation);
        let (first_case, second_case) = (split.rows[0].case_id, split.rows[1].case_id);
        c.type_text("1,5").await;
        c.keys("<Down> f").await;
        let split = c.app.split.as_ref().unwrap();
        assert_eq!(split.rows[0].amount().unwrap(), Money::from_minor(150));
        let expect_second = (unallocated - Money::from_minor(150)).min(split.rows[1].still_needed());
        assert_eq!(split.rows[1].amount().unwrap(), expect_second);
        assert_eq!(split.left(), unallocated - Money::from_minor(150) - expect_second);
        // Nothing is written before the confirmation.
        assert_eq!(c.store().donation(donation).await.unwrap().0.unallocated, unallocated);
        c.keys("<Enter>").await;
        assert_eq!(c.app.screen, ScreenId::Donations, "{}", c.status());
        assert!(c.status().contains("placed on 2 case(s)"), "{}", c.status());
        let (d, allocations) = c.store().donation(donation).await.unwrap();
        assert_eq!(d.unallocated, unallocated - Money::from_minor(150) - expect_second);
        let mine: Vec<_> = allocations.iter().filter(|a| a.by == "operator").collect();
        let cases: Vec<i64> = mine.iter().map(|a| a.case_id).collect();
        assert_eq!(cases, vec![first_case, second_case]);
        assert!(mine.iter().all(|a| !a.reversed && a.at == mine[0].at), "written in one transaction");
        assert_invariants(c.store()).await;
    }
}

on_both_engines! {
    async fn split_checks_as_you_type_and_esc_writes_nothing(t: TestDb) {
        let mut c = Console::new(t).await;
        let before = fingerprint(c.store()).await;
        c.keys("g d / ").await;
        c.type_text("designated=no").await;
        c.keys("<Enter> <Enter>").await;
        let need = c.app.split.as_ref().unwrap().rows[0].still_needed();
        c.type_text(&(need + Money::from_minor(100)).plain()).await;
        let screen = c.screen(80, 24);
        assert!(screen.contains("more than it needs"), "{screen}");
        c.keys("<Enter>").await;
        assert!(c.status().contains("needs only"), "{}", c.status());
        assert_eq!(c.app.screen, ScreenId::Split);
        // Evenly needs marked rows; marked rows share what is left.
        c.keys("<Delete> e").await;
        assert!(c.status().contains("mark"), "{}", c.status());
        c.keys("<Space> <Space> e").await;
        let split = c.app.split.as_ref().unwrap();
        let shared: Money = split.rows[..2].iter().map(|r| r.amount().unwrap()).sum();
        assert_eq!(shared, split.donation.unallocated.min(split.rows[0].still_needed() + split.rows[1].still_needed()));
        c.keys("<Esc>").await;
        assert_eq!(c.app.screen, ScreenId::Donations);
        assert!(c.status().contains("nothing was written"));
        assert_eq!(before, fingerprint(c.store()).await);
    }
}

on_both_engines! {
    async fn split_refuses_when_someone_else_got_there_first(t: TestDb) {
        let mut c = Console::new(t).await;
        let (donation, unallocated) = first_unrestricted(c.store()).await;
        c.keys("g d / ").await;
        c.type_text("designated=no").await;
        c.keys("<Enter> <Enter>").await;
        let case = c.app.split.as_ref().unwrap().rows[0].case_id;
        c.type_text("1").await;
        // Another person, another connection, places part of the same donation.
        let other = c.other("colleague").await;
        other.allocate(donation, &Plan::Lines(vec![(case, Money::from_minor(50))]), None, None).await.unwrap();
        let before = fingerprint(c.store()).await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("changed the figures meanwhile"), "{}", c.status());
        assert_eq!(before, fingerprint(c.store()).await, "the refused split wrote something");
        let split = c.app.split.as_ref().unwrap();
        assert_eq!(split.donation.unallocated, unallocated - Money::from_minor(50), "fresh figures on screen");
        assert_eq!(split.rows.iter().find(|r| r.case_id == case).unwrap().input, "1", "what was typed is kept");
        c.keys("<Enter>").await;
        assert_eq!(c.app.screen, ScreenId::Donations, "{}", c.status());
    }
}

on_both_engines! {
    async fn a_case_through_its_gates_from_the_card(t: TestDb) {
        let mut c = Console::new(t).await;
        let id = first_in(c.store(), Stage::Qualification).await.id;
        c.keys("g c").await;
        c.type_text(&id.to_string()).await;
        c.keys("<Enter>").await;
        assert_eq!(c.app.screen, ScreenId::Case);
        let before = fingerprint(c.store()).await;
        c.keys("a").await;
        c.type_text("documents").await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("qualification checklist"), "the gate's message is shown: {}", c.status());
        assert_eq!(before, fingerprint(c.store()).await);
        // Attach by path: the checklist on the card shows it at once.
        let paper = c.t.dir.path().join("выписка.pdf");
        std::fs::write(&paper, "report").unwrap();
        c.keys("A").await;
        c.type_text(&format!("medical_report {}", paper.display())).await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("attached as medical_report"), "{}", c.status());
        c.keys("<Tab>").await;
        let screen = c.screen(80, 24);
        assert!(screen.contains("выписка.pdf") && screen.contains("operator"), "{screen}");
        c.keys("<BackTab>").await;
        c.keys("h").await;
        c.type_text("ждём выписку").await;
        c.keys("<Enter>").await;
        assert_eq!(c.store().case(id).await.unwrap().stage, Stage::OnHold, "{}", c.status());
        c.keys(": ").await;
        c.type_text("advance qualification").await;
        c.keys("<Enter>").await;
        c.keys("x").await;
        c.type_text("не по профилю").await;
        c.keys("<Enter>").await;
        let file = c.store().case_file(id).await.unwrap();
        assert_eq!(file.case.stage, Stage::Rejected);
        assert_eq!(file.history.last().unwrap().reason.as_deref(), Some("не по профилю"));
        // Notes: a multi-line editor, saved with Ctrl-S.
        c.keys("n").await;
        c.type_text("позвонить маме").await;
        c.keys("<Enter>").await;
        c.type_text("в понедельник").await;
        c.keys("<C-s>").await;
        assert_eq!(c.store().case_file(id).await.unwrap().notes, "позвонить маме\nв понедельник");
        // A rejected case takes no more papers.
        c.keys("A").await;
        c.type_text("medical_report /tmp/x.pdf").await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("can no longer be attached"), "{}", c.status());
    }
}

on_both_engines! {
    async fn designated_donation_placed_with_one_confirmation_and_invoice_paid(t: TestDb) {
        let mut c = Console::new(t).await;
        let case = first_in(c.store(), Stage::Fundraising).await;
        // A gift designated to the case while it is on hold waits, unplaced.
        c.store().advance(case.id, Stage::OnHold, Some("pause")).await.unwrap();
        let held =
            c.store().new_donation(&common::donation(case.still_needed, Designation::Case(case.id))).await.unwrap().0;
        assert!(c.store().donation(held).await.unwrap().0.allocated.is_zero());
        c.store().set_setting("designated_policy", "redistribute").await.unwrap();
        c.store().advance(case.id, Stage::Fundraising, None).await.unwrap();
        c.keys("g d / ").await;
        c.type_text("designated=yes").await;
        c.keys("<Enter> <End>").await;
        assert_eq!(c.app.inbox.selected_donation().map(|x| x.id), Some(held), "{}", c.status());
        c.keys("<Enter>").await;
        assert!(c.app.confirm.is_some());
        c.keys("y").await;
        assert!(c.status().contains("now in payment"), "{}", c.status());
        assert_eq!(c.store().case(case.id).await.unwrap().stage, Stage::Payment);
        c.keys("g p").await;
        let row = c.app.payments.rows.iter().position(|(x, _)| x.id == case.id).unwrap();
        for _ in 0..row {
            c.keys("<Down>").await;
        }
        c.keys("m").await;
        c.type_text("771 01.07.2026").await;
        c.keys("<Enter>").await;
        assert_eq!(c.store().case(case.id).await.unwrap().stage, Stage::Paid, "{}", c.status());
        assert_invariants(c.store()).await;
    }
}

on_both_engines! {
    async fn chords_show_which_key_and_esc_cancels(t: TestDb) {
        let mut c = Console::new(t).await;
        c.keys("g").await;
        let choices: Vec<String> = c.app.chord_choices().into_iter().map(|x| x.0).collect();
        assert!(choices.contains(&"b".to_string()) && choices.contains(&"d".to_string()), "{choices:?}");
        assert!(c.screen(80, 24).contains("pending") || c.screen(80, 24).contains("g"));
        c.keys("<Esc>").await;
        assert!(c.app.pending.is_empty());
        c.keys("g z").await;
        assert!(c.status().contains("g z is not bound"), "{}", c.status());
    }
}

on_both_engines! {
    async fn russian_screens_and_amounts(t: TestDb) {
        let mut c = Console::with(t, Lang::Ru).await;
        let screen = c.screen(160, 48);
        assert!(screen.contains("Воронка") && screen.contains("Квалификация"), "{screen}");
        c.keys("<Right> <Right> <Enter>").await;
        let screen = c.screen(160, 48);
        assert!(screen.contains(" ₽"), "{screen}");
        assert!(screen.contains(",00 ₽") || screen.contains(","), "{screen}");
    }
}

on_both_engines! {
    async fn escape_sequences_from_registers_are_inert_on_screen(t: TestDb) {
        let mut c = Console::new(t).await;
        let mut evil = common::donation(Money::from_minor(100), Designation::Unrestricted);
        evil.payer = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J".into();
        let (id, _) = c.store().new_donation(&evil).await.unwrap();
        c.keys("g d <End>").await;
        assert_eq!(c.app.inbox.selected_donation().unwrap().id, id);
        let screen = c.screen(160, 48);
        assert!(!screen.chars().any(|ch| ch.is_control() && ch != '\n'), "a control character reached the screen");
        assert!(screen.contains("Evil^[]0;pwned^G"), "{screen}");
    }
}

#[test]
fn every_shipped_keymap_parses_and_names_only_known_commands() {
    for (name, text) in PRESETS {
        let parsed = parse(name, text);
        assert!(parsed.problems.is_empty(), "keymaps/{name}.toml: {:?}", parsed.problems);
        assert!(!parsed.bindings.is_empty());
        let on_disk = std::fs::read_to_string(format!("keymaps/{name}.toml")).unwrap();
        assert_eq!(&on_disk, text, "the embedded keymap is the shipped file");
    }
}

#[tokio::test]
async fn a_bad_user_keymap_is_reported_and_the_defaults_used() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("keymap.toml");
    std::fs::write(&file, "[[board]]\non = \"j\"\nrun = \"down\"\n\n[[board]]\non = \"k\"\nrun = \"fly-away\"\n")
        .unwrap();
    let (map, problems) = Keymap::load(Some(&file));
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].to_string().ends_with(":7: unknown command \"fly-away\": type : and Tab to see the commands"),
        "{}",
        problems[0]
    );
    let store = Store::open(&dir.path().join("k.db"), "x").await.unwrap();
    let (app, _) = App::new(store, map, &problems, Lang::En).await;
    assert!(app.status.as_ref().unwrap().text.contains("keymap not loaded"));
    assert!(matches!(
        app.keymap.resolve(almoner::app::keymap::Scope::Board, &parse_keys("g d").unwrap()),
        almoner::app::keymap::Resolved::Matched(_)
    ));
}

on_both_engines! {
    async fn other_peoples_commits_are_noticed(t: TestDb) {
        let c = Console::new(t).await;
        let mut watcher = c.store().watcher().await.unwrap();
        assert!(!watcher.changed().await.unwrap());
        let other = c.other("colleague").await;
        give(&other, "10").await;
        // SQLite's data version says so at once; PostgreSQL's notice arrives a moment after the commit.
        let asked = std::time::Instant::now();
        while !watcher.changed().await.unwrap() {
            assert!(asked.elapsed() < std::time::Duration::from_secs(2), "no word of the commit within 2 s");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(!watcher.changed().await.unwrap());
    }
}

#[tokio::test]
async fn verify_runs_in_the_background_with_progress() {
    let t = TestDb::new().await;
    let store = t.store.clone();
    store.seed_demo_at(1, anchor()).await.unwrap();
    let (mut app, mut jobs) = App::new(store, Keymap::preset("default"), &[], Lang::En).await;
    app.run_line("verify").await.unwrap();
    assert!(app.progress.is_some());
    let mut saw_progress = false;
    while let Some(ev) = jobs.recv().await {
        let done = matches!(ev, almoner::app::JobEvent::Done { .. });
        saw_progress |= matches!(ev, almoner::app::JobEvent::Progress(_));
        app.job_event(ev).await;
        if done {
            break;
        }
    }
    assert!(saw_progress);
    assert!(app.progress.is_none());
    assert_eq!(app.status.unwrap().text, "all money invariants hold");
}

on_both_engines! {
    async fn board_filter_finds_words_folds_yo_and_narrows_every_column(t: TestDb) {
        let mut c = Console::new(t).await;
        c.keys("/").await;
        c.type_text("program=treatment Федоров").await;
        c.keys("<Enter>").await;
        let n: i64 = c.app.board.columns.iter().map(|col| col.total.cases).sum();
        assert!(n > 0, "{}", c.status());
        for col in &c.app.board.columns {
            for card in &col.cards {
                assert_eq!(card.program, almoner::domain::Program::Treatment);
                assert!(card.beneficiary.replace('ё', "е").starts_with("Федоров"), "{}", card.beneficiary);
            }
        }
        c.keys("/ <Enter>").await;
        let all: i64 = c.app.board.columns.iter().map(|col| col.total.cases).sum();
        assert!(all > n && c.status().contains("filter cleared"), "{}", c.status());
    }
}

#[test]
fn language_comes_from_the_config_file_before_the_locale() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "lang = \"ru\"\n").unwrap();
    assert_eq!(Lang::from_config_or_env(Some(&file)), (Lang::Ru, None));
    std::fs::write(&file, "lang = \"de\"\n").unwrap();
    assert!(Lang::from_config_or_env(Some(&file)).1.unwrap().contains("write \"en\" or \"ru\""));
    std::fs::write(&file, "\nlang = [\n").unwrap();
    assert!(Lang::from_config_or_env(Some(&file)).1.unwrap().contains("config.toml:"));
}

#[test]
fn the_readme_documents_every_command() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    for spec in almoner::app::command::REGISTRY {
        assert!(readme.contains(&format!("`{}", spec.name)), "README.md does not mention the command {:?}", spec.name);
    }
}

on_both_engines! {
    async fn inbox_filters_by_channel_and_date(t: TestDb) {
        let mut c = Console::new(t).await;
        c.keys("g d /").await;
        c.type_text("channel=corporate from=2026-03-01 to=2026-03-31").await;
        c.keys("<Enter>").await;
        assert!(!c.app.inbox.rows.is_empty(), "{}", c.status());
        for d in &c.app.inbox.rows {
            assert_eq!(d.channel, almoner::domain::Channel::Corporate);
            assert!(d.received_on >= NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
            assert!(d.received_on <= NaiveDate::from_ymd_opt(2026, 3, 31).unwrap());
            assert!(d.unallocated.is_positive());
        }
        c.keys("/").await;
        c.type_text("colour=red").await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("unknown filter \"colour\""), "{}", c.status());
    }
}

on_both_engines! {
    async fn tiny_and_odd_terminal_sizes_never_panic(t: TestDb) {
        let mut c = Console::new(t).await;
        let sizes = [(1u16, 1u16), (10, 3), (20, 5), (40, 10), (79, 23), (300, 100)];
        let tour = ["g b", "<Right> <Right> <Enter>", "<Tab>", "<Tab>", "<Tab>", "<Tab>", "g d", "?", "<Esc>", "g p", "g"];
        for step in tour {
            c.keys(step).await;
            for (w, h) in sizes {
                c.screen(w, h);
            }
        }
        c.keys("<Esc> g d / ").await;
        c.type_text("designated=no").await;
        c.keys("<Enter> <Enter>").await;
        c.type_text("12").await;
        for (w, h) in sizes {
            c.screen(w, h);
        }
    }
}

on_both_engines! {
    async fn the_demo_is_a_believable_year(t: TestDb) {
        let c = Console::new(t).await;
        let store = c.store();
        let q = |sql: &'static str| async move { Ok::<i64, ()>(one::<i64>(store, sql).await) };
        assert!(q("SELECT COUNT(*) FROM cases").await.unwrap() >= 190);
        assert!(q("SELECT COUNT(*) FROM donations").await.unwrap() >= 5000);
        for stage in ["qualification", "documents", "fundraising", "payment", "paid", "closed", "rejected", "on_hold"] {
            let n: i64 = one(c.store(), &format!("SELECT COUNT(*) FROM cases WHERE stage = '{stage}'")).await;
            assert!(n > 0, "no demo case in {stage}");
        }
        assert!(
            q("SELECT COUNT(*) FROM stage_changes WHERE from_stage = 'payment' AND to_stage = 'fundraising'")
                .await
                .unwrap()
                > 0
        );
        assert!(q("SELECT COUNT(*) FROM reversals").await.unwrap() > 0);
        assert!(q("SELECT COUNT(*) FROM donations WHERE designation_kind = 'case'").await.unwrap() > 0);
        assert!(q("SELECT COUNT(*) FROM donations WHERE allocated = 0").await.unwrap() > 0);
        assert!(q("SELECT COUNT(*) FROM donors WHERE kind = 'organisation'").await.unwrap() > 0);
        assert_invariants(c.store()).await;
    }
}

on_both_engines! {
    async fn import_screen_previews_imports_and_undoes(t: TestDb) {
        let mut c = Console::new(t).await;
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/1c/parser1c__kl_to_1c.txt");
        let before = fingerprint(c.store()).await;
        c.keys("g i i").await;
        c.type_text(&file.display().to_string()).await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("6 new"), "{}", c.status());
        assert!(c.screen(160, 48).contains("Enter imports"), "preview on screen");
        assert_eq!(before, fingerprint(c.store()).await, "a preview wrote something");
        c.keys("<Esc>").await;
        assert!(c.status().contains("nothing was written") && c.app.imports.preview.is_none());
        // A file that changes between preview and import is refused: preview it again.
        let copy = c.t.dir.path().join("statement.txt");
        std::fs::copy(&file, &copy).unwrap();
        c.keys("i").await;
        c.type_text(&copy.display().to_string()).await;
        c.keys("<Enter>").await;
        std::fs::write(&copy, &std::fs::read(&file).unwrap()[..100]).unwrap();
        c.keys("<Enter>").await;
        assert!(c.status().contains("changed since it was previewed"), "{}", c.status());
        assert_eq!(before, fingerprint(c.store()).await);
        c.keys("i").await;
        c.type_text(&file.display().to_string()).await;
        c.keys("<Enter> <Enter>").await;
        assert!(c.status().contains("imported as batch 1 — 6 new donation(s)"), "{}", c.status());
        let screen = c.screen(160, 48);
        assert!(screen.contains("parser1c__kl_to_1c.txt"), "{screen}");
        c.keys("u").await;
        assert!(c.status().contains("batch 1 undone: 6 donation(s) removed"), "{}", c.status());
        c.keys("i").await;
        c.type_text("/no/such/file.txt").await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("/no/such/file.txt: No such file"), "{}", c.status());
    }
}

on_both_engines! {
    async fn import_screen_accepts_suggestions_and_designates_by_hand(t: TestDb) {
        let mut c = Console::new(t).await;
        let cases: Vec<(i64, String)> = rows(
            c.store(),
            "SELECT c.id, b.full_name FROM cases c JOIN beneficiaries b ON b.id = c.beneficiary_id
             WHERE c.stage = 'fundraising' ORDER BY c.id LIMIT 2",
        )
        .await;
        let ((first, _), (second, name)) = (cases[0].clone(), cases[1].clone());
        let profile = c.t.dir.path().join("p.toml");
        std::fs::write(&profile, "name = \"t\"\n[columns]\ndate = 1\namount = 2\npurpose = 3\npayer = 4\n").unwrap();
        let csv = c.t.dir.path().join("r.csv");
        std::fs::write(&csv, format!("d;a;p;w\n01.06.2026;1;заявка {first};A\n01.06.2026;2;{name};B\n01.06.2026;3;-;C\n"))
            .unwrap();
        c.keys("g i i").await;
        c.type_text(&format!("{} --profile {}", csv.display(), profile.display())).await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("2 suggested"), "{}", c.status());
        // Accept the first, then change our mind; accept all; give the third row to the first case by hand.
        c.keys("a a A <Down> <Down> d").await;
        c.type_text(&first.to_string()).await;
        c.keys("<Enter>").await;
        assert!(c.screen(160, 48).contains(&format!("→ case {second}")), "{}", c.screen(160, 48));
        c.keys("<Enter>").await;
        assert!(c.status().contains("3 designated"), "{}", c.status());
        let designated: Vec<(i64,)> =
            rows(c.store(), "SELECT designated_id FROM donations WHERE batch_id = 1 ORDER BY amount").await;
        assert_eq!(designated, vec![(first,), (second,), (first,)]);
        assert_invariants(c.store()).await;
    }
}

on_both_engines! {
    async fn a_large_register_is_read_and_imported_in_the_background_with_progress(t: TestDb) {
        let mut c = Console::new(t).await;
        c.app.imports.background_from = Some(0);
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/1c/parser1c__kl_to_1c.txt");
        c.keys("g i i").await;
        c.type_text(&file.display().to_string()).await;
        c.keys("<Enter>").await;
        assert!(c.app.imports.busy && c.app.progress.is_some(), "the bar is up at once");
        c.keys("<Enter>").await;
        assert!(c.status().contains("under way"), "keys wait while the file is read: {}", c.status());
        let seen = c.settle().await;
        assert!(seen.iter().any(|l| l == "checking"), "{seen:?}");
        assert!(c.status().contains("6 new"), "{}", c.status());
        c.keys("<Enter>").await;
        let seen = c.settle().await;
        assert!(seen.iter().any(|l| l == "importing"), "{seen:?}");
        assert!(c.status().contains("imported as batch 1 — 6 new donation(s)"), "{}", c.status());
        assert!(c.app.progress.is_none() && !c.app.imports.busy);
        assert!(c.screen(160, 48).contains("parser1c__kl_to_1c.txt"));
        assert_invariants(c.store()).await;
    }
}

on_both_engines! {
    async fn a_case_is_taken_and_handed_over_from_its_card(t: TestDb) {
        let mut c = Console::new(t).await;
        c.app.run_line("goto case 1").await.unwrap();
        c.app.run_line("take").await.unwrap();
        assert!(c.status().contains("operator is responsible now"), "{}", c.status());
        c.app.run_line("assign ivan").await.unwrap();
        let who: Option<String> = one(c.store(), "SELECT responsible FROM cases WHERE id = 1").await;
        assert_eq!(who.as_deref(), Some("ivan"));
        c.app.run_line("assign none").await.unwrap();
        assert!(c.status().contains("open to all"), "{}", c.status());
        assert!(c.app.run_line("assign").await.is_err(), "to whom?");
    }
}

on_both_engines! {
    async fn likely_duplicates_are_reviewed_side_by_side_and_merged_field_by_field(t: TestDb) {
        let mut c = Console::new(t).await;
        let base = c.t.dir.path().to_path_buf();
        for json in [
            r#"{"program": "treatment", "child": {"full_name": "Зайцева Полина Игоревна", "birth_date": "2014-09-01"}, "clinic": "НМИЦ ДГОИ"}"#,
            r#"{"program": "equipment", "child": {"full_name": "Zaytseva Polina Igorevna", "birth_date": "2014-09-01", "city": "Омск"}, "clinic": "Ортомир"}"#,
        ] {
            let app: almoner::store::Application = serde_json::from_str(json).unwrap();
            c.store().intake(&app, &base).await.unwrap();
        }
        let reviews = c.store().reviews().await.unwrap();
        assert_eq!(reviews.len(), 1, "the Latin spelling waits for a person");
        let (new, earlier) = (reviews[0].beneficiary_id, reviews[0].candidate_id);
        c.keys("g r").await;
        assert_eq!(c.app.screen, ScreenId::Reviews, "{}", c.status());
        let screen = c.screen(80, 24);
        insta::assert_snapshot!("reviews_80x24", screen);
        assert!(screen.contains("Zaytseva Polina Igorevna") && screen.contains("Зайцева Полина Игоревна"), "{screen}");
        // The earlier record has no city: by default it takes the new record's, and keeps its own name.
        assert_eq!(c.app.reviews.take, [false, false, true]);
        // Taking the Latin name is a choice a person can make, and unmake.
        c.keys("<Left>").await;
        assert_eq!(c.app.reviews.take, [true, false, true]);
        c.keys("<Right>").await;
        c.keys("m").await;
        assert!(c.status().contains("merged into record") && c.status().contains("taking city"), "{}", c.status());
        let city: Option<String> = one(c.store(), &format!("SELECT city FROM beneficiaries WHERE id = {earlier}")).await;
        assert_eq!(city.as_deref(), Some("Омск"));
        let moved: i64 = one(c.store(), &format!("SELECT COUNT(*) FROM cases WHERE beneficiary_id = {earlier}")).await;
        assert_eq!(moved, 2, "both cases are on the earlier record");
        assert!(c.store().reviews().await.unwrap().is_empty());
        // Undo puts everything back, the field included.
        c.keys("u").await;
        assert!(c.status().contains("taken back"), "{}", c.status());
        let (city, name): (Option<String>, String) =
            row(c.store(), &format!("SELECT city, full_name FROM beneficiaries WHERE id = {earlier}")).await;
        assert_eq!((city, name.as_str()), (None, "Зайцева Полина Игоревна"));
        let back: i64 = one(c.store(), &format!("SELECT COUNT(*) FROM cases WHERE beneficiary_id = {new}")).await;
        assert_eq!(back, 1);
        // Two children after all.
        c.keys("x").await;
        assert!(c.status().contains("kept apart"), "{}", c.status());
        assert!(c.screen(80, 24).contains("nothing"), "the queue is empty");
        let audit: i64 = one(c.store(), "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'review.%'").await;
        assert_eq!(audit, 3);
        assert_invariants(c.store()).await;
    }
}

on_both_engines! {
    async fn reports_draw_the_period_and_segments_count_as_filters_are_typed(t: TestDb) {
        let mut c = Console::new(t).await;
        c.keys("g s").await;
        assert_eq!(c.app.screen, ScreenId::Reports, "{}", c.status());
        insta::assert_snapshot!("reports_80x24", c.screen(80, 24));
        let screen = c.screen(160, 48);
        assert!(
            screen.contains("entered a stage")
                && screen.contains("donations per month")
                && screen.contains("open fundraisers")
        );
        // The monthly bars are stacked by channel: the key names each with its share of the period.
        let r = c.app.reports.report.clone().unwrap();
        let raised: i64 = r.monthly.iter().map(|m| m.amount.minor()).sum();
        for channel in ["website", "bank", "event", "corporate", "cash"] {
            let sum: i64 = r.monthly.iter().filter(|m| m.channel == channel).map(|m| m.amount.minor()).sum();
            let key = format!("{channel} {}%", (sum * 100 + raised / 2) / raised);
            assert!(sum > 0 && screen.contains(&key), "{key} in\n{screen}");
        }
        // Narrowed to one program and a quarter: the figures are the store's own.
        c.keys("/").await;
        c.type_text("program=treatment from=2026-04-01 to=2026-06-30").await;
        c.keys("<Enter>").await;
        let want = c
            .store()
            .stage_report(common::date("2026-04-01"), common::date("2026-06-30"), Some(almoner::domain::Program::Treatment))
            .await
            .unwrap();
        assert_eq!(c.app.reports.report.as_ref(), Some(&want), "{}", c.status());
        assert!(c.screen(160, 48).contains("2026-04-01 — 2026-06-30"));

        c.keys("g m").await;
        assert_eq!(c.app.screen, ScreenId::Segments);
        let all = c.app.segments.size.donors;
        c.keys("/").await;
        // The size follows the filters as they are typed, before Enter.
        c.type_text("min_total=10000").await;
        // Counted in the background once typing pauses; meanwhile the screen says so.
        assert!(c.screen(80, 24).contains("counting the filters typed"), "{}", c.screen(80, 24));
        c.counted().await;
        let big = c.store().segment_size(&"min_total=10000".parse().unwrap()).await.unwrap();
        assert!(big.donors < all, "{big:?} of {all}");
        let screen = c.screen(80, 24);
        assert!(
            screen.contains("filters typed: min_total=10000.00")
                && screen.contains(&format!("{} donor(s) · {} reachable", big.donors, big.reachable)),
            "{screen}"
        );
        // Half a filter: the last complete one's count stays up, and the screen says why.
        c.type_text(" has_email").await;
        let screen = c.screen(80, 24);
        assert!(
            screen.contains("filter incomplete") && screen.contains(&format!("{} donor(s) · ", big.donors)),
            "{screen}"
        );
        c.type_text("=yes").await;
        c.counted().await;
        let want = c.store().segment_size(&"min_total=10000 has_email=yes".parse().unwrap()).await.unwrap();
        let screen = c.screen(80, 24);
        assert!(
            screen.contains(&format!("{} donor(s) · {} reachable", want.donors, want.reachable))
                && !screen.contains("incomplete"),
            "{screen}"
        );
        assert_eq!(c.app.segments.size.donors, all, "nothing is in force before Enter");
        c.keys("<Enter>").await;
        assert_eq!(c.app.segments.size, want);
        assert!(want.donors < big.donors && want.donors > 0, "{want:?} of {big:?}");
        c.keys("s").await;
        c.type_text("крупные").await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("saved"), "{}", c.status());
        insta::assert_snapshot!("segments_80x24", c.screen(80, 24));
        let out = c.t.dir.path().join("u.csv");
        c.keys("e").await;
        c.type_text(&format!("{} total", out.display())).await;
        c.keys("<Enter>").await;
        assert!(c.status().contains(&format!("{} donor(s) written", want.reachable)), "{}", c.status());
        // Filters typed and then left with Esc: the ones in force come back.
        c.keys("/").await;
        c.type_text("channel=cash").await;
        // A count that arrives for filters no longer typed is not shown.
        let stale = almoner::store::Size { donors: 987_654, ..Default::default() };
        c.app
            .job_event(almoner::app::JobEvent::SegmentCounted { filter: "channel=bank".parse().unwrap(), size: Ok(stale) })
            .await;
        assert!(!c.screen(80, 24).contains("987654"), "{}", c.screen(80, 24));
        c.counted().await;
        let cash = c.store().segment_size(&"channel=cash".parse().unwrap()).await.unwrap();
        assert!(c.screen(80, 24).contains(&format!("{} donor(s) · {} reachable", cash.donors, cash.reachable)));
        c.keys("<Esc>").await;
        let screen = c.screen(80, 24);
        assert!(
            screen.contains("filters: min_total=10000.00 has_email=yes")
                && screen.contains(&format!("{} donor(s) · {} reachable", want.donors, want.reachable)),
            "{screen}"
        );
    }
}

on_both_engines! {
    async fn the_personal_data_plan_is_seen_and_someone_held_back_and_let_go(t: TestDb) {
        let mut c = Console::new(t).await;
        // A donor (name from a register, with a terminal escape in it) whose last gift is eight years old.
        let old = almoner::store::NewDonation {
            received_on: NaiveDate::from_ymd_opt(2018, 3, 1).unwrap(),
            payer: "Давний \u{1b}[2JДаритель".into(),
            email: Some("old@x.org".into()),
            ..donation(rub("500"), Designation::Unrestricted)
        };
        let (gift, _) = c.store().new_donation(&old).await.unwrap();
        let donor: i64 = one(c.store(), &format!("SELECT donor_id FROM donations WHERE id = {gift}")).await;
        c.keys("g x").await;
        assert_eq!(c.app.screen, ScreenId::Privacy);
        assert!(c.app.privacy.rows.is_empty(), "nothing planned until the plan is brought up to date");
        c.keys("p").await;
        assert!(c.status().contains("up to date"), "{}", c.status());
        let at = c.app.privacy.rows.iter().position(|s| s.entity == "donor" && s.entity_id == donor).expect("planned");
        assert_eq!(c.app.privacy.rows[at].action, "anonymize");
        assert_eq!(c.app.privacy.rows[at].due_on, NaiveDate::from_ymd_opt(2026, 7, 30).unwrap(), "a month ahead");
        for _ in 0..at {
            c.keys("<Down>").await;
        }
        let screen = c.screen(100, 24);
        assert!(screen.contains("Personal-data plan") && screen.contains("2026-07-30"), "{screen}");
        assert!(screen.contains(&format!("donor {donor}")) && screen.contains("Давний"), "{screen}");
        assert!(screen.contains("Давний ^[[2JД"), "outside text is inert: {screen:?}");
        insta::assert_snapshot!("privacy_80x24", c.screen(80, 24));
        // Held back, with the reason typed: the step goes, the decision is on record.
        c.keys("x").await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("give the reason"), "{}", c.status());
        c.keys("x").await;
        c.type_text("договор пожертвования до 2030").await;
        c.keys("<Enter>").await;
        assert!(c.status().contains(&format!("donor {donor} held back")), "{}", c.status());
        assert!(!c.app.privacy.rows.iter().any(|s| s.entity_id == donor && s.entity == "donor"));
        let held: (String, String) =
            row(c.store(), &format!("SELECT kind, reason FROM gdpr_overrides WHERE entity = 'donor' AND entity_id = {donor}"))
                .await;
        assert_eq!(held, ("exclude".to_string(), "договор пожертвования до 2030".to_string()));
        // Undone: the decision is gone and the rules plan the step again.
        c.keys("u").await;
        assert!(c.status().contains("no longer held back"), "{}", c.status());
        let left: i64 =
            one(c.store(), &format!("SELECT COUNT(*) FROM gdpr_overrides WHERE entity = 'donor' AND entity_id = {donor}")).await;
        assert_eq!(left, 0);
        assert!(c.app.privacy.rows.iter().any(|s| s.entity_id == donor && s.entity == "donor"));
        c.keys("u").await;
        assert!(c.status().contains("no one was held back"), "{}", c.status());
        let logged: Vec<(String,)> = rows(
            c.store(),
            &format!("SELECT action FROM audit_log WHERE entity = 'donor' AND entity_id = {donor} AND action LIKE 'gdpr.%' ORDER BY id"),
        )
        .await;
        let logged: Vec<String> = logged.into_iter().map(|(a,)| a).collect();
        assert_eq!(logged, ["gdpr.planned", "gdpr.exclude", "gdpr.dropped", "gdpr.forget", "gdpr.planned"]);
        // A donor's own request is not set aside from here; a record merged into a donor already
        // anonymized follows them; a child is held back through their case's step.
        let recent = almoner::store::NewDonation {
            received_on: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
            payer: "Просившая Анна".into(),
            email: Some("asked@x.org".into()),
            ..donation(rub("300"), Designation::Unrestricted)
        };
        let (gift, _) = c.store().new_donation(&recent).await.unwrap();
        let asked: i64 = one(c.store(), &format!("SELECT donor_id FROM donations WHERE id = {gift}")).await;
        c.store().gdpr_override("donor", asked, true, "письмо с просьбой").await.unwrap();
        let record = almoner::store::NewDonation {
            payer: "Второй Учёт".into(),
            email: Some("second@x.org".into()),
            ..recent.clone()
        };
        let (gift, _) = c.store().new_donation(&record).await.unwrap();
        let merged: i64 = one(c.store(), &format!("SELECT donor_id FROM donations WHERE id = {gift}")).await;
        raw(c.store(), &format!("UPDATE donors SET anonymized_at = '2026-01-01T00:00:00+00:00' WHERE id = {donor}")).await;
        raw(c.store(), &format!("UPDATE donors SET merged_into = {donor} WHERE id = {merged}")).await;
        let closed = new_case(c.store(), almoner::domain::Program::Treatment, Money::ZERO).await;
        c.store().advance(closed, Stage::Rejected, Some("не подтверждено")).await.unwrap();
        raw(c.store(), &format!("UPDATE cases SET stage_since = '2019-01-01T00:00:00+00:00' WHERE id = {closed}")).await;
        let child: i64 = one(c.store(), &format!("SELECT beneficiary_id FROM cases WHERE id = {closed}")).await;
        c.keys("p").await;
        let select = |c: &mut Console, entity: &str, id: i64| {
            let at = c.app.privacy.rows.iter().position(|s| s.entity == entity && s.entity_id == id);
            c.app.privacy.selected = at.unwrap_or_else(|| panic!("{entity} {id} planned: {:?}", c.app.privacy.rows));
        };
        for (entity, id, refusal) in [("donor", asked, "asked to have their personal data removed"), ("donor", merged, "merged into donor")] {
            select(&mut c, entity, id);
            c.keys("x").await;
            c.type_text("не трогать").await;
            c.keys("<Enter>").await;
            assert!(c.status().contains(refusal), "{}", c.status());
        }
        let kept: Vec<(i64, String)> = rows(c.store(), "SELECT entity_id, kind FROM gdpr_overrides ORDER BY entity_id").await;
        assert_eq!(kept, vec![(asked, "include".to_string())], "the request stands; nothing was added");
        select(&mut c, "case", closed);
        c.keys("x").await;
        c.type_text("семья просила сохранить").await;
        c.keys("<Enter>").await;
        assert!(c.status().contains(&format!("beneficiary {child} held back")), "{}", c.status());
        assert!(!c.app.privacy.rows.iter().any(|s| s.entity == "case" && s.entity_id == closed));
        // Another admin's decision in its place since: undo leaves it be.
        c.other("chief").await.gdpr_override("beneficiary", child, false, "решение правления").await.unwrap();
        c.keys("u").await;
        assert!(c.status().contains("replaced by another decision"), "{}", c.status());
        let reason: String =
            one(c.store(), &format!("SELECT reason FROM gdpr_overrides WHERE entity = 'beneficiary' AND entity_id = {child}")).await;
        assert_eq!(reason, "решение правления");
        let replaced: Vec<(String, Option<String>)> = rows(
            c.store(),
            &format!(
                "SELECT action, CAST(before AS TEXT) FROM audit_log WHERE entity = 'beneficiary' AND entity_id = {child} ORDER BY id"
            ),
        )
        .await;
        let replaced: Vec<(String, Option<serde_json::Value>)> =
            replaced.into_iter().map(|(a, b)| (a, b.map(|b| serde_json::from_str(&b).unwrap()))).collect();
        assert_eq!(
            replaced,
            vec![
                ("gdpr.exclude".to_string(), None),
                ("gdpr.exclude".to_string(), Some(serde_json::json!({"kind": "exclude"})))
            ],
            "the decision replaced is named"
        );
        // From another screen, `gdpr-plan` opens the plan, brought up to date.
        c.keys("g b").await;
        c.keys(":").await;
        c.type_text("gdpr-plan").await;
        c.keys("<Enter>").await;
        assert_eq!(c.app.screen, ScreenId::Privacy);
        assert!(c.status().contains("up to date") && !c.app.privacy.rows.is_empty(), "{}", c.status());
        // Someone without the admin role sees why the plan is not shown, the rows go, and nothing is
        // logged as refused, however often the screen refreshes.
        c.store().set_user("chief", almoner::domain::Role::Admin, true).await.unwrap();
        assert!(!c.app.privacy.rows.is_empty());
        c.keys("<F5>").await;
        c.keys("<F5>").await;
        assert!(c.status().contains("for admins"), "{}", c.status());
        assert!(c.app.privacy.rows.is_empty());
        let denied: i64 = one(c.store(), "SELECT COUNT(*) FROM audit_log WHERE action = 'denied'").await;
        assert_eq!(denied, 0);
    }
}

on_both_engines! {
    async fn a_gift_in_another_currency_shows_it_and_goes_only_to_a_case_in_that_currency(t: TestDb) {
        let mut c = Console::new(t).await;
        let eur: almoner::domain::Currency = "EUR".parse().unwrap();
        let mut gift = donation(Money::from_minor(1405_31), Designation::Unrestricted);
        gift.currency = eur;
        let (id, _) = c.store().new_donation(&gift).await.unwrap();
        // No case raises euros: the split says so when it is asked for, not at the confirm.
        c.keys(":").await;
        c.type_text(&format!("split {id}")).await;
        c.keys("<Enter>").await;
        assert!(c.status().contains("no case raises money in EUR"), "{}", c.status());
        assert_ne!(c.app.screen, ScreenId::Split);
        // A clinic abroad billing in euros: its case takes the gift, and only it is offered.
        let case = fundraising_case(&c.t, Money::from_minor(5000_00)).await;
        raw(c.store(), &format!("UPDATE cases SET currency = 'EUR' WHERE id = {case}")).await;
        c.keys(":").await;
        c.type_text(&format!("split {id}")).await;
        c.keys("<Enter>").await;
        assert_eq!(c.app.screen, ScreenId::Split, "{}", c.status());
        let rows: Vec<i64> = c.app.split.as_ref().unwrap().rows.iter().map(|r| r.case_id).collect();
        assert_eq!(rows, vec![case]);
        let screen = c.screen(80, 24);
        assert!(screen.contains("1,405.31 EUR"), "{screen}");
        c.keys("f <Enter>").await;
        let (d, _) = c.store().donation(id).await.unwrap();
        assert_eq!(d.allocated, Money::from_minor(1405_31), "{}", c.status());
        assert_invariants(c.store()).await;
    }
}
