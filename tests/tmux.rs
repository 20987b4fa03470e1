//! End to end: the real binary in a real terminal (tmux), driven by keys.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use almoner::domain::Money;
use almoner::store::{DonationQuery, Store};

const BIN: &str = env!("CARGO_BIN_EXE_almoner");

struct Tmux {
    socket: String,
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Tmux {
    fn start(tag: &str) -> Tmux {
        Tmux::start_with(tag, |bin, db| format!("exec {bin} --db '{db}'"))
    }

    /// Starts the console with a shell command built from the binary and database paths.
    fn start_with(tag: &str, command: impl Fn(&str, &str) -> String) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e2e.db");
        Tmux::start_on(tag, dir, db, command)
    }

    /// The same on the database at `db` (a file, or a PostgreSQL address).
    fn start_on(tag: &str, dir: tempfile::TempDir, db: PathBuf, command: impl Fn(&str, &str) -> String) -> Tmux {
        Tmux::start_sized(tag, dir, db, command, (100, 30), "C.UTF-8")
    }

    /// At 80×24 in Russian, as most staff see it over SSH.
    fn start_ru(tag: &str) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("e2e.db");
        Tmux::start_sized(tag, dir, db, |bin, db| format!("exec {bin} --db '{db}'"), (80, 24), "ru_RU.UTF-8")
    }

    fn start_sized(
        tag: &str,
        dir: tempfile::TempDir,
        db: PathBuf,
        command: impl Fn(&str, &str) -> String,
        (cols, rows): (u16, u16),
        lang: &str,
    ) -> Tmux {
        let init = Command::new(BIN).arg("--db").arg(&db).args(["init", "--demo"]).output().unwrap();
        assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
        let socket = format!("almoner-{tag}-{}", std::process::id());
        let config = dir.path().join("config");
        let cmd = command(BIN, &db.display().to_string());
        // tmux itself in UTF-8 whatever the environment, so Cyrillic reaches the screen as it is.
        let status = Command::new("tmux")
            .env("LANG", "C.UTF-8")
            .args([
                "-u",
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                &cols.to_string(),
                "-y",
                &rows.to_string(),
            ])
            .args([
                "-e",
                &format!("XDG_CONFIG_HOME={}", config.display()),
                "-e",
                "USER=e2e-operator",
                "-e",
                &format!("LANG={lang}"),
            ])
            .arg(cmd)
            .status()
            .expect("tmux is installed (.ci/run installs it)");
        assert!(status.success());
        Tmux { socket, _dir: dir, db }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux").args(["-L", &self.socket]).args(args).output().unwrap()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.tmux(&["send-keys", "-t", "0", k]);
            assert!(out.status.success(), "send-keys {k}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }

    fn literal(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "0", "-l", text]);
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "0"]).stdout).into_owned()
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, |s| s.contains(text))
    }

    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "never saw {what} on screen:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alive(&self) -> bool {
        self.tmux(&["has-session"]).status.success()
    }

    fn pid(&self) -> i32 {
        let out = self.tmux(&["display-message", "-p", "-t", "0", "#{pane_pid}"]);
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

async fn first_unrestricted(db: &Path) -> (i64, Money) {
    let store = Store::open(db, "test").await.unwrap();
    let q = DonationQuery { unallocated_only: true, designated: Some(false), limit: Some(1), ..Default::default() };
    let d = store.list_donations(&q).await.unwrap().remove(0);
    store.close().await;
    (d.id, d.unallocated)
}

async fn open_split(t: &Tmux) {
    t.wait_for("Qualification");
    t.keys(&["g", "d"]);
    t.wait_for("Designation");
    t.keys(&["/"]);
    t.literal("designated=no");
    t.keys(&["Enter"]);
    t.wait_for("donations to place");
    t.keys(&["Enter"]);
    t.wait_for("to place:");
}

#[tokio::test]
async fn split_a_demo_donation_through_the_real_terminal() {
    let t = Tmux::start("split");
    let (donation, unallocated) = first_unrestricted(&t.db).await;
    open_split(&t).await;
    t.literal("100");
    t.wait_for("placing: 100.00");
    t.keys(&["Enter"]);
    t.wait_for("placed on 1 case(s)");
    t.keys(&["q"]);
    let started = Instant::now();
    while t.alive() {
        assert!(started.elapsed() < Duration::from_secs(10), "almoner did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let store = Store::open(&t.db, "test").await.unwrap();
    let (d, allocations) = store.donation(donation).await.unwrap();
    assert_eq!(d.unallocated, unallocated - Money::from_minor(100_00));
    let mine: Vec<_> = allocations.iter().filter(|a| a.by == "e2e-operator").collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].amount, Money::from_minor(100_00));
    common::assert_invariants(&store).await;
}

#[tokio::test]
async fn killing_the_console_mid_split_writes_nothing() {
    for signal in ["-KILL", "-HUP"] {
        let t = Tmux::start(&signal[1..]);
        let before = {
            let store = Store::open(&t.db, "test").await.unwrap();
            common::fingerprint(&store).await
        };
        open_split(&t).await;
        t.literal("250");
        t.keys(&["Down", "f"]);
        t.wait_for("placing:");
        let pid = t.pid();
        let killed = Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
        assert!(killed.success());
        let started = Instant::now();
        while t.alive() {
            assert!(started.elapsed() < Duration::from_secs(10), "almoner survived {signal}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let store = Store::open(&t.db, "test").await.unwrap();
        assert_eq!(before, common::fingerprint(&store).await, "a split cut off by {signal} wrote something");
        common::assert_invariants(&store).await;
    }
}

#[tokio::test]
async fn another_persons_commit_appears_within_two_seconds() {
    live(Tmux::start("live")).await;
}

/// The same on PostgreSQL, where the console hears of the commit through LISTEN/NOTIFY.
#[tokio::test]
async fn another_persons_commit_appears_within_two_seconds_on_postgres() {
    let url = common::pg::server().database("live").await;
    let dir = tempfile::tempdir().unwrap();
    live(Tmux::start_on("live-pg", dir, PathBuf::from(url), |bin, db| format!("exec {bin} --db '{db}'"))).await;
}

async fn live(t: Tmux) {
    t.wait_for("Qualification");
    let store = Store::open(&t.db, "test").await.unwrap();
    let count = store.summary().await.unwrap()[0].cases;
    // The qualification column's head: "│16   26,042,000││Documents…"
    let head = |n: i64| move |s: &str| s.lines().nth(3).is_some_and(|l| l.starts_with(&format!("│{n} ")));
    t.wait_until("the qualification count", head(count));
    let out = Command::new(BIN)
        .arg("--db")
        .arg(&t.db)
        .args(["case", "new", "--beneficiary", "Новикова Ева", "--program", "treatment", "--clinic", "РДКБ"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let started = Instant::now();
    t.wait_until("the new count", head(count + 1));
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn the_terminal_is_restored_after_sigterm() {
    let t = Tmux::start_with("restore", |bin, db| format!("{bin} --db '{db}'; stty -a > '{db}.stty'; sleep 30"));
    t.wait_for("Qualification");
    let shell = t.pid();
    let out = Command::new("pgrep").args(["-P", &shell.to_string()]).output().unwrap();
    let pid = String::from_utf8_lossy(&out.stdout).lines().next().unwrap().trim().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stty = PathBuf::from(format!("{}.stty", t.db.display()));
    let started = Instant::now();
    while !stty.exists() || std::fs::read_to_string(&stty).unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "almoner did not exit on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let modes = std::fs::read_to_string(&stty).unwrap();
    assert!(modes.contains(" icanon") && modes.contains(" echo "), "raw mode left on: {modes}");
    assert!(!t.screen().contains("Qualification"), "the alternate screen was not left");
}

/// A month's statement, large enough to go to the background with a progress bar.
fn statement(t: &Tmux, rows: u64) -> PathBuf {
    let path = t.db.with_file_name("month.txt");
    almoner::import::generate::write_1c(&path, rows, 5).unwrap();
    path
}

async fn batches(db: &Path) -> Vec<almoner::store::Batch> {
    Store::open(db, "test").await.unwrap().import_batches().await.unwrap()
}

#[tokio::test]
async fn a_long_register_imports_in_the_real_terminal_and_undoes() {
    let t = Tmux::start("import");
    let file = statement(&t, 8_000);
    t.wait_for("Qualification");
    t.keys(&["g", "i", "i"]);
    t.literal(&file.display().to_string());
    t.keys(&["Enter"]);
    t.wait_for("8000 new");
    t.keys(&["Enter"]);
    t.wait_for("imported as batch 1");
    let b = batches(&t.db).await;
    assert_eq!((b.len(), b[0].new, b[0].by.as_str()), (1, 8_000, "e2e-operator"));
    assert_eq!(b[0].incoming_total.minor(), almoner::import::generate::total(8_000, 5) as i64);
    t.keys(&["u"]);
    t.wait_for("batch 1 undone: 8000 donation(s) removed");
    let store = Store::open(&t.db, "test").await.unwrap();
    common::assert_invariants(&store).await;
}

#[tokio::test]
async fn a_connection_dropped_mid_import_leaves_nothing_behind() {
    let t = Tmux::start("import-hup");
    let file = statement(&t, 60_000);
    let before = common::fingerprint(&Store::open(&t.db, "test").await.unwrap()).await;
    t.wait_for("Qualification");
    t.keys(&["g", "i", "i"]);
    t.literal(&file.display().to_string());
    t.keys(&["Enter"]);
    t.wait_for("60000 new");
    t.keys(&["Enter"]);
    t.wait_for("importing");
    let pid = t.pid();
    assert!(Command::new("kill").args(["-HUP", &pid.to_string()]).status().unwrap().success());
    let started = Instant::now();
    while t.alive() {
        assert!(started.elapsed() < Duration::from_secs(20), "almoner survived SIGHUP");
        std::thread::sleep(Duration::from_millis(50));
    }
    let store = Store::open(&t.db, "test").await.unwrap();
    assert_eq!(before, common::fingerprint(&store).await, "a cut-off import wrote something");
    assert!(store.import_batches().await.unwrap().is_empty());
}

/// The 1C register that does not reconcile (see `common::unreconciled_1c`), as a file.
fn unreconciled(t: &Tmux) -> PathBuf {
    let path = t.db.with_file_name("march.txt");
    std::fs::write(&path, common::unreconciled_1c()).unwrap();
    path
}

#[tokio::test]
async fn a_register_that_does_not_reconcile_asks_why_before_it_goes_in() {
    let t = Tmux::start_ru("unreconciled");
    let file = unreconciled(&t);
    t.wait_for("Воронка");
    t.keys(&["g", "i", "i"]);
    t.literal(&format!(" {}", file.display()));
    t.keys(&["Enter"]);
    // Every problem is on screen in full at 80 columns, the bad amount on its own line.
    let screen = t.wait_for("не сходится");
    for words in ["line 28: Сумма:", "\"3OO.50\"", "ВсегоПоступило", "181,800.50", "Enter спросит"]
    {
        assert!(screen.contains(words), "{words} not on screen:\n{screen}");
    }
    // Enter does not import: it asks why. An empty reason is refused, nothing is written.
    t.keys(&["Enter"]);
    t.wait_for(":accept-problems");
    t.keys(&["Enter"]);
    t.wait_for("напишите причину");
    assert!(batches(&t.db).await.is_empty(), "imported without a reason");
    t.keys(&["Enter"]);
    t.wait_for(":accept-problems");
    t.literal("банк пришлёт документ 2");
    t.keys(&["Enter"]);
    t.wait_for("imported as batch 1");
    let b = batches(&t.db).await;
    assert_eq!((b[0].new, b[0].accepted_reason.as_deref()), (1, Some("банк пришлёт документ 2")));
    assert_eq!(b[0].accepted_by.as_deref(), Some("e2e-operator"));
    assert_eq!(b[0].problems.len(), 2);
}

#[tokio::test]
async fn a_processor_payout_in_the_console_waits_then_settles_when_its_register_comes() {
    let t = Tmux::start_ru("payout");
    let doc = |n: u32, sum: &str, payer: &str, inn: &str| {
        format!(
            "СекцияДокумент=Платежное поручение\r\nНомер={n}\r\nДата=04.03.2026\r\nСумма={sum}\r\n\
             ПлательщикСчет=4070281000000000{n:04}\r\nПлательщик={payer}\r\nПлательщикИНН={inn}\r\nДатаПоступило=04.03.2026\r\n\
             ПолучательСчет=40703810000000000001\r\nПолучатель=Фонд\r\nНазначениеПлатежа=Перевод средств\r\nКонецДокумента\r\n"
        )
    };
    let bank = t.db.with_file_name("bank.txt");
    let text = format!(
        "1CClientBankExchange\r\nВерсияФормата=1.03\r\nКодировка=Windows\r\nРасчСчет=40703810000000000001\r\n{}КонецФайла\r\n",
        doc(1, "1729.80", "ООО КлаудПэйментс", "7708806062")
    );
    std::fs::write(&bank, text).unwrap();
    let cp = t.db.with_file_name("cp.csv");
    std::fs::write(
        &cp,
        "TransactionId,Amount,CreatedDateIso,Email,Status,TotalFee\n\
         7001,1000.00,2026-03-02T10:00:00,a@x.org,Completed,39.00\n\
         7002,800.00,2026-03-02T11:00:00,b@x.org,Completed,31.20\n",
    )
    .unwrap();
    // As the bookkeeper, whose queue it is.
    let out = Command::new(BIN)
        .arg("--db")
        .arg(&t.db)
        .args(["user", "add", "e2e-operator", "--role", "bookkeeper"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    t.wait_for("Воронка");
    t.keys(&["g", "i", "i"]);
    t.literal(&format!(" {}", bank.display()));
    t.keys(&["Enter"]);
    // The payout's row says what it is, in full below the table.
    let screen = t.wait_for("payout");
    assert!(screen.contains("CloudPayments payout: no gifts known yet add up to it"), "{screen}");
    t.keys(&["Enter"]);
    t.wait_for("imported as batch 1");
    // At the end of the queue: it waits since now, after everything overdue.
    t.keys(&["g", "w"]);
    t.wait_for("Мои дела");
    t.keys(&["End"]);
    t.wait_for("payout waits");
    t.keys(&["g", "i", "i"]);
    t.literal(&format!(" {}", cp.display()));
    t.keys(&["Enter"]);
    t.wait_for("2 new");
    t.keys(&["Enter"]);
    t.wait_for("imported as batch 2");
    t.keys(&["g", "w"]);
    t.wait_for("Мои дела");
    t.keys(&["End"]);
    t.wait_until("the queue's end without the payout", |s| s.contains("Мои дела") && !s.contains("payout waits"));
    let store = Store::open(&t.db, "test").await.unwrap();
    let settles = store.settlements().await.unwrap()[0].settles.unwrap();
    assert_eq!((settles.gifts, settles.fees.minor()), (2, 70_20));
    let payouts: i64 = common::one(&store, "SELECT COUNT(*) FROM donations WHERE payer LIKE '%КлаудПэйментс%'").await;
    assert_eq!(payouts, 0, "the payout became a donation");
}
