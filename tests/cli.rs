//! The real binary, as scripts and people use it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use almoner::store::Store;

const BIN: &str = env!("CARGO_BIN_EXE_almoner");

struct Cli {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl Cli {
    fn new() -> Cli {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cli.db");
        Cli { _dir: dir, db }
    }

    /// The binary on a database a test prepared through the store (closed first).
    async fn over(t: common::TestDb) -> Cli {
        let db = t.path();
        let common::TestDb { dir, store } = t;
        store.close().await;
        Cli { _dir: dir, db }
    }

    /// A file in the test's own folder.
    fn file(&self, name: &str) -> PathBuf {
        self._dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        common::almoner_on(&self.db, &self.file("papers")).args(args).env("USER", "kassir").output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "almoner {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// Runs a command that must fail, checks its message, and that it wrote nothing.
    async fn fails(&self, args: &[&str], expect: &str) {
        let before = snapshot(&self.db).await;
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "almoner {args:?} should fail");
        assert!(err.contains(expect), "almoner {args:?}: message {err:?} lacks {expect:?}");
        assert_eq!(before, snapshot(&self.db).await, "almoner {args:?} failed but wrote something");
    }
}

async fn snapshot(db: &Path) -> String {
    let store = Store::open(db, "test").await.unwrap();
    let f = common::fingerprint(&store).await;
    store.close().await;
    f
}

#[test]
fn every_command_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["init"],
        &["summary"],
        &["case"],
        &["case", "list"],
        &["case", "show"],
        &["case", "new"],
        &["case", "qualify"],
        &["case", "invoice"],
        &["case", "target"],
        &["case", "attach"],
        &["case", "advance"],
        &["case", "pay"],
        &["donation"],
        &["donation", "list"],
        &["donation", "show"],
        &["donation", "new"],
        &["donation", "release"],
        &["allocate"],
        &["reverse"],
        &["audit"],
        &["config"],
        &["verify"],
        &["bench"],
        &["exec"],
        &["keymap"],
        &["keymap", "check"],
        &["import"],
        &["import", "batches"],
        &["import", "undo"],
        &["payments"],
        &["payments", "export"],
    ];
    for c in commands {
        let out = Command::new(BIN).args(*c).arg("--help").output().unwrap();
        assert!(out.status.success(), "{c:?} --help failed");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage:"), "{c:?} --help prints no usage");
    }
}

on_both_engines! {
    async fn a_case_from_application_to_closing_by_cli(t: TestDb) {
        let cli = Cli::over(t).await;
        cli.ok(&["init"]);
        let case = cli.json(&[
            "case",
            "new",
            "--beneficiary",
            "Смирнова Вера Олеговна",
            "--birth-date",
            "2015-04-02",
            "--program",
            "treatment",
            "--clinic",
            "НМИЦ ДГОИ",
            "--publish",
            "--json",
        ]);
        let id = case["id"].as_i64().unwrap().to_string();
        assert_eq!(case["stage"], "qualification");
        cli.fails(&["case", "advance", &id, "--to", "documents"], "qualification checklist").await;
        cli.ok(&["case", "qualify", &id, "--diagnosis", "ОЛЛ", "--treatment", "химиотерапия", "--clinic-fits"]);
        cli.ok(&["case", "advance", &id, "--to", "documents"]);
        cli.fails(&["case", "advance", &id, "--to", "fundraising"], "missing documents for treatment").await;
        cli.ok(&[
            "case",
            "invoice",
            &id,
            "--number",
            "СЧ-5",
            "--date",
            "01.03.2026",
            "--amount",
            "1 500,50",
            "--payee",
            "НМИЦ ДГОИ",
        ]);
        let paper = cli.file("cli.pdf");
        std::fs::write(&paper, "paper").unwrap();
        for kind in ["invoice", "medical_report", "publication_consent"] {
            cli.ok(&["case", "attach", &id, "--kind", kind, paper.to_str().unwrap()]);
        }
        cli.ok(&["case", "advance", &id, "--to", "fundraising"]);
        let d =
            cli.json(&["donation", "new", "--amount", "1000", "--channel", "bank", "--payer", "ООО «Ромашка»", "--json"]);
        let did = d["donation"]["id"].as_i64().unwrap().to_string();
        cli.fails(&["allocate", &did, &format!("--to={id}=1000.01")], "has 1000.00 unallocated").await;
        cli.fails(&["allocate", &did, &format!("--to={id}=1.005")], "more than 2 decimal places").await;
        cli.fails(&["allocate", "999", &format!("--to={id}=1")], "donation 999 does not exist").await;
        cli.fails(
            &["allocate", &did, &format!("--to={id}=10"), "--expect-unallocated", "999"],
            "changed the figures meanwhile",
        )
        .await;
        let out = cli.json(&["allocate", &did, &format!("--to={id}=1000"), "--json"]);
        assert_eq!(out["unallocated_after"], "0.00");
        let d2 = cli.json(&[
            "donation",
            "new",
            "--amount",
            "700",
            "--channel",
            "website",
            "--payer",
            "Анна",
            "--designation",
            &format!("case:{id}"),
            "--json",
        ]);
        assert_eq!(d2["completed"][0].as_i64().unwrap().to_string(), id, "designated gift completes the case");
        assert_eq!(d2["donation"]["allocated"], "500.50");
        assert_eq!(d2["donation"]["unallocated"], "199.50");
        cli.fails(
            &["case", "pay", &id, "--order", "77", "--date", "2026-04-01", "--amount", "1500"],
            "is for 1,500.00 but invoice СЧ-5 is for 1,500.50",
        )
        .await;
        cli.ok(&["case", "pay", &id, "--order", "77", "--date", "2026-04-01", "--amount", "1500.50"]);
        cli.fails(&["case", "advance", &id, "--to", "closed"], "act").await;
        cli.ok(&["case", "attach", &id, "--kind", "act", paper.to_str().unwrap()]);
        cli.ok(&["case", "advance", &id, "--to", "closed", "--reason", "акт получен"]);
        let shown = cli.json(&["case", "show", &id, "--json"]);
        assert_eq!(shown["stage"], "closed");
        let stages: Vec<&str> = shown["history"].as_array().unwrap().iter().map(|h| h["to"].as_str().unwrap()).collect();
        assert_eq!(stages, ["qualification", "documents", "fundraising", "payment", "paid", "closed"]);
        assert_eq!(shown["documents"].as_array().unwrap().len(), 4);
        let audit = cli.json(&["audit", "--json", "--limit", "100"]);
        assert!(audit.as_array().unwrap().iter().all(|e| e["actor"] == "kassir"), "audit names the OS user");
        assert!(cli.ok(&["verify"]).contains("all money invariants hold"));
    }
}

on_both_engines! {
    async fn json_listings_have_the_promised_fields(t: TestDb) {
        let cli = Cli::over(t).await;
        cli.ok(&["init", "--demo"]);
        let cases = cli.json(&["case", "list", "--stage", "fundraising", "--limit", "3", "--json"]);
        for c in cases.as_array().unwrap() {
            for field in ["id", "beneficiary", "program", "stage", "target", "collected", "still_needed"] {
                assert!(!c[field].is_null(), "case JSON lacks {field}: {c}");
            }
            let target = c["target"].as_str().unwrap();
            assert!(target.split_once('.').is_some_and(|(_, k)| k.len() == 2), "amount not a 2-place string: {target}");
        }
        let donations = cli.json(&["donation", "list", "--unallocated", "--limit", "3", "--json"]);
        assert_eq!(donations.as_array().unwrap().len(), 3);
        for d in donations.as_array().unwrap() {
            for field in ["id", "amount", "allocated", "unallocated", "designation", "received_on", "channel", "payer"] {
                assert!(!d[field].is_null(), "donation JSON lacks {field}: {d}");
            }
            assert_ne!(d["unallocated"], "0.00");
        }
        assert!(cli.ok(&["summary"]).contains("fundraising"));
        cli.fails(&["init", "--demo"], "already holds 200 cases").await;
    }
}

on_both_engines! {
    async fn bad_arguments_are_named_and_change_nothing(t: TestDb) {
        let cli = Cli::over(t).await;
        cli.ok(&["init", "--demo"]);
        cli.fails(&["case", "list", "--stage", "funding"], "expected one of qualification").await;
        cli.fails(&["case", "advance", "99999", "--to", "documents"], "case 99999 does not exist").await;
        cli.fails(&["donation", "new", "--amount=-5", "--channel", "bank", "--payer", "x"], "negative").await;
        cli.fails(&["donation", "new", "--amount", "5", "--channel", "pigeon", "--payer", "x"], "unknown channel").await;
        cli.fails(
            &["donation", "new", "--amount", "5", "--channel", "bank", "--payer", "x", "--designation", "case:99999"],
            "case 99999 does not exist",
        )
        .await;
        cli.fails(&["allocate", "1", "--to", "nonsense"], "CASE_ID=AMOUNT").await;
        cli.fails(&["allocate", "1"], "required").await;
        cli.fails(&["reverse", "99999", "--reason", "x"], "allocation 99999 does not exist").await;
        cli.fails(&["case", "attach", "1", "--kind", "invoice", "/no/such/file.pdf"], "/no/such/file.pdf").await;
        cli.fails(&["config", "set", "designated_policy", "give-away"], "expected one of hold, redistribute").await;
    }
}

#[test]
fn escape_sequences_in_names_are_inert_in_output() {
    let cli = Cli::new();
    cli.ok(&["init"]);
    cli.ok(&["donation", "new", "--amount", "5", "--channel", "bank", "--payer", "Evil\u{1b}[2J\u{1b}]0;pwned\u{7}"]);
    let table = cli.ok(&["donation", "list"]);
    assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'), "raw escape reached the terminal: {table:?}");
    assert!(table.contains("Evil^[[2J"));
}

#[test]
fn exec_runs_commands_and_stops_at_the_first_error_with_its_line() {
    let cli = Cli::new();
    cli.ok(&["init", "--demo"]);
    let donation = cli.json(&["donation", "list", "--unallocated", "--limit", "200", "--json"]);
    let d = donation.as_array().unwrap().iter().find(|d| d["designation"] == "unrestricted").unwrap();
    let did = d["id"].as_i64().unwrap();
    let case = cli.json(&["case", "list", "--stage", "fundraising", "--limit", "1", "--json"]);
    let cid = case[0]["id"].as_i64().unwrap();
    let script = cli.file("cli.almoner");
    std::fs::write(
        &script,
        format!("# month end\ngoto donations\n\nallocate {did} {cid}=1,25\nsplit nonsense\nallocate {did} {cid}=1\n"),
    )
    .unwrap();
    let out = cli.run(&["exec", script.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stdout.contains(&format!("donation {did}: 1 allocation(s) written")), "{stdout}");
    assert!(stderr.contains(":5: split nonsense: split: \"nonsense\" is not a donation id"), "{stderr}");
    let shown = cli.json(&["donation", "show", &did.to_string(), "--json"]);
    let mine: Vec<_> = shown["allocations"].as_array().unwrap().iter().filter(|a| a["by"] == "kassir").collect();
    assert_eq!(mine.len(), 1, "the line after the error did not run");
    assert_eq!(mine[0]["amount"], "1.25");
}

#[test]
fn keymap_check_names_file_and_line() {
    let cli = Cli::new();
    let good = cli.file("cli.good.toml");
    std::fs::write(&good, "preset = \"vim\"\n[[board]]\non = \"F\"\nrun = \"prompt filter program=\"\n").unwrap();
    assert!(cli.ok(&["keymap", "check", good.to_str().unwrap()]).contains("1 binding(s), no problems"));
    let bad = cli.file("cli.bad.toml");
    std::fs::write(&bad, "[[global]]\non = \"g\"\nrun = \"top\"\n\n[[split]]\non = \"<Hyper-x>\"\nrun = \"fill\"\n")
        .unwrap();
    let out = cli.run(&["keymap", "check", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:6: bad key \"<Hyper-x>\""), "{err}");
    let shown = cli.ok(&["keymap", "show"]);
    assert!(shown.contains("[split]") && shown.contains("confirm"), "{shown}");
}

#[test]
fn the_console_without_a_terminal_says_what_to_do() {
    let cli = Cli::new();
    let out = cli.run(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the console needs a terminal"));
}

/// `almoner … | head`: the reader stopping early ends almoner quietly, without a panic.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pipe.db");
    let bin = env!("CARGO_BIN_EXE_almoner");
    let init = Command::new(bin).arg("--db").arg(&db).args(["init", "--demo", "--scale", "30"]).output().unwrap();
    assert!(init.status.success());
    let mut child = Command::new(bin)
        .arg("--db")
        .arg(&db)
        .args(["case", "list", "--limit", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    // The reader is dropped here, as `head -1` would exit.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("id"), "{first}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn a_case_is_taken_handed_over_and_released_with_notes_in_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("assign.db");
    let bin = env!("CARGO_BIN_EXE_almoner");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin).arg("--db").arg(&db).env("USER", "olga").args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(run(&["case", "new", "--beneficiary", "Петров Глеб", "--program", "treatment", "--clinic", "НМИЦ"]).0);
    let (ok, out, _) = run(&["case", "take", "1", "--note", "беру"]);
    assert!(ok && out.contains("you (olga) are responsible now"), "{out}");
    let (ok, out, _) = run(&["case", "assign", "1", "ivan", "--note", "в отпуске, передаю"]);
    assert!(ok && out.contains("ivan is responsible now, instead of olga"), "{out}");
    let (ok, out, _) = run(&["case", "release", "1"]);
    assert!(ok && out.contains("open to all, instead of ivan"), "{out}");
    let (ok, _, err) = run(&["case", "assign", "99", "ivan"]);
    assert!(!ok && err.contains("99"), "{err}");
    let store = almoner::store::Store::open(&db, "test").await.unwrap();
    let notes: Vec<String> = sqlx::query_scalar("SELECT after FROM audit_log WHERE action = 'case.assign' ORDER BY id")
        .fetch_all(store.pool().unwrap())
        .await
        .unwrap();
    assert_eq!(notes.len(), 3);
    assert!(notes[1].contains("в отпуске, передаю") && notes[1].contains("ivan"), "{notes:?}");
    let responsible: Option<String> = sqlx::query_scalar("SELECT responsible FROM cases WHERE id = 1")
        .fetch_one(store.pool().unwrap())
        .await
        .unwrap();
    assert_eq!(responsible, None);
}

#[tokio::test]
async fn a_backup_taken_while_working_restores_to_the_same_database_and_papers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let bin = env!("CARGO_BIN_EXE_almoner");
    let run = |db: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(bin).arg("--db").arg(db).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert!(run(&db, &["init", "--demo"]).0);
    let paper = dir.path().join("report.pdf");
    std::fs::write(&paper, "a medical report").unwrap();
    let (ok, _, err) = run(&db, &["case", "attach", "1", "--kind", "photo", paper.to_str().unwrap()]);
    assert!(ok, "{err}");
    let backup = dir.path().join("backup.db");
    let (ok, out, err) = run(&db, &["backup", backup.to_str().unwrap()]);
    assert!(ok && out.contains("consistent copy"), "{out}{err}");
    let (ok, _, err) = run(&db, &["backup", backup.to_str().unwrap()]);
    assert!(!ok && err.contains("exists already"), "{err}");

    // Into a new place: the same data, the same papers, every invariant holding.
    let restored = dir.path().join("restored.db");
    let (ok, out, err) = run(&restored, &["restore", backup.to_str().unwrap()]);
    assert!(ok && out.contains("1 paper(s)"), "{out}{err}");
    let a = common::fingerprint(&almoner::store::Store::open(&db, "t").await.unwrap()).await;
    let b = common::fingerprint(&almoner::store::Store::open(&restored, "t").await.unwrap()).await;
    assert_eq!(a, b);
    assert!(run(&restored, &["verify"]).0);
    // Over an existing database only when told, keeping the old one.
    let (ok, _, err) = run(&db, &["restore", backup.to_str().unwrap()]);
    assert!(!ok && err.contains("--force"), "{err}");
    assert!(run(&db, &["restore", backup.to_str().unwrap(), "--force"]).0);
    assert!(dir.path().join("live.db.before-restore").exists());
    // Not a database: refused, nothing touched.
    let (ok, _, err) = run(&dir.path().join("x.db"), &["restore", paper.to_str().unwrap()]);
    assert!(!ok && err.contains("not an almoner database"), "{err}");
    assert!(!dir.path().join("x.db").exists());
}

#[test]
fn exec_can_go_on_past_a_failure_and_report_timings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("exec.db");
    let bin = env!("CARGO_BIN_EXE_almoner");
    let init = std::process::Command::new(bin).arg("--db").arg(&db).args(["init", "--demo"]).output().unwrap();
    assert!(init.status.success());
    let script = dir.path().join("s.txt");
    std::fs::write(&script, "goto nowhere\n# a comment\ngoto board\n").unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(bin).arg("--db").arg(&db).arg("exec").args(extra).arg(&script).output().unwrap()
    };
    let stop = run(&[]);
    assert!(!stop.status.success() && String::from_utf8_lossy(&stop.stdout).is_empty(), "stops at the first error");
    let on = run(&["--keep-going", "--timings"]);
    let (out, err) = (String::from_utf8_lossy(&on.stdout), String::from_utf8_lossy(&on.stderr));
    assert!(!on.status.success() && err.contains("s.txt:1: goto nowhere") && err.contains("1 command(s)"), "{err}");
    let timings: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let oks: Vec<bool> = timings["commands"].as_array().unwrap().iter().map(|c| c["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, vec![false, true], "the second command ran after the first failed");
}

#[tokio::test]
async fn the_work_queue_and_the_website_feed_from_the_command_line() {
    use almoner::domain::{Money, Program};
    use almoner::store::Plan;
    use serde_json::json;
    let t = common::TestDb::new().await;
    let application = common::new_case(&t.store, Program::Treatment, Money::ZERO).await;
    let open = common::fundraising_case(&t, common::rub("1000")).await;
    let other = common::fundraising_case(&t, common::rub("500")).await;
    let d = common::give(&t.store, "600").await;
    let lines = vec![(open, common::rub("250")), (other, common::rub("200.50"))];
    t.store.allocate(d, &Plan::Lines(lines), None, None).await.unwrap();
    let mut amounts = Vec::new();
    for id in [open, other] {
        let c = t.store.case(id).await.unwrap();
        amounts.push(json!({"id": id, "target": c.target.plain(), "collected": c.collected.plain(), "still_needed": c.still_needed.plain()}));
    }
    let cli = Cli::over(t).await;

    // kassir has no role recorded: every role's work.
    let queue = cli.json(&["queue", "--json"]);
    let items = queue.as_array().unwrap();
    let item = |what: &str| items.iter().find(|i| i["what"] == what).unwrap_or_else(|| panic!("no {what}: {queue}"));
    assert_eq!(
        (&item("qualify")["role"], &item("qualify")["target"]),
        (&json!("medical"), &json!({"kind": "case", "id": application}))
    );
    assert_eq!(
        (&item("place money")["role"], &item("place money")["target"]),
        (&json!("fundraiser"), &json!({"kind": "donation", "id": d}))
    );
    assert!(items.iter().all(|i| i["since"].is_string() && i["why"].is_string()), "{queue}");
    assert_eq!(cli.json(&["queue", "--role", "bookkeeper", "--json"]), json!([]), "nothing is fully funded");

    let site = cli.file("site");
    let out = cli.ok(&["publish", "--out", site.to_str().unwrap()]);
    assert!(out.contains("2 open fundraiser(s)"), "{out}");
    let feed: serde_json::Value = serde_json::from_slice(&std::fs::read(site.join("feed.json")).unwrap()).unwrap();
    let shown: Vec<serde_json::Value> = feed["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"id": c["id"], "target": c["target"], "collected": c["collected"], "still_needed": c["still_needed"]}))
        .collect();
    assert_eq!(shown, amounts, "the feed's amounts are the database's, for every case");
    assert!(site.join(format!("cases/{open}.html")).exists() && site.join(format!("cases/{other}.html")).exists());
    let again = cli.json(&["publish", "--out", site.to_str().unwrap(), "--json"]);
    assert_eq!((&again["cases"], &again["written"]), (&json!(2), &json!([])), "nothing changed, nothing rewritten");
}

on_both_engines! {
    /// A fundraiser's mailing from the command line: count, save, list, record consent, export.
    async fn a_segment_is_counted_saved_and_exported_by_cli(t: TestDb) {
        let cli = Cli::over(t).await;
        cli.ok(&["init"]);
        let give = |payer: &str, email: Option<&str>, day: &str, amount: &str| {
            let mut args =
                vec!["donation", "new", "--amount", amount, "--channel", "bank", "--payer", payer, "--date", day];
            if let Some(e) = email {
                args.extend(["--email", e]);
            }
            args.push("--json");
            cli.json(&args)["donation"]["donor_id"].as_i64().unwrap().to_string()
        };
        let anna = give("Анна", Some("a@x.org"), "2026-03-01", "1000");
        assert_eq!(give("Анна", Some("a@x.org"), "2026-04-01", "5000"), anna, "her second gift is hers");
        let boris = give("Борис", Some("b@x.org"), "2026-05-01", "10000");
        let vera = give("Вера", None, "2026-02-01", "300");
        give("Глеб", Some("g@x.org"), "2018-01-10", "700");

        // Nobody has agreed to be written to yet.
        let count = |filters: &[&str]| cli.ok(&[&["segment", "count"][..], filters].concat());
        assert_eq!(
            count(&["paid_from=2026-01-01"]),
            "3 donor(s); 0 reachable by e-mail (left out: 0 do not contact, 3 no consent, 0 no e-mail)\n"
        );
        assert!(count(&[]).starts_with("4 donor(s);"));
        for (id, flag, value) in [
            (&anna, "--consent", "yes"),
            (&boris, "--consent", "yes"),
            (&boris, "--do-not-contact", "yes"),
            (&vera, "--consent", "yes"),
        ] {
            assert_eq!(cli.ok(&["donor", "contact", id.as_str(), flag, value]), format!("donor {id}: recorded\n"));
        }
        assert_eq!(
            count(&["paid_from=2026-01-01"]),
            "3 donor(s); 1 reachable by e-mail (left out: 1 do not contact, 0 no consent, 1 no e-mail)\n"
        );
        let json = cli.json(&["segment", "count", "min_total=5000", "--json"]);
        assert_eq!(
            json,
            serde_json::json!({"donors": 2, "reachable": 1, "do_not_contact": 1, "no_consent": 0, "no_email": 0})
        );

        let said = cli.ok(&["segment", "save", "крупные 2026", "paid_from=01.01.2026", "min_total=5000"]);
        assert_eq!(said, "segment \"крупные 2026\" saved: paid_from=2026-01-01 min_total=5000.00\n");
        cli.ok(&["segment", "save", "этот год", "paid_from=2026-01-01"]);
        let list = cli.ok(&["segment", "list"]);
        let lines: Vec<&str> = list.lines().collect();
        assert_eq!(lines.len(), 2, "{list}");
        assert!(lines[0].starts_with("крупные 2026") && lines[0].contains("paid_from=2026-01-01 min_total=5000.00"));
        assert!(
            lines[0].ends_with("2 donor(s); 1 reachable by e-mail (left out: 1 do not contact, 0 no consent, 0 no e-mail)")
        );
        assert!(lines[1].starts_with("этот год") && lines[1].contains("3 donor(s); 1 reachable"), "{list}");

        let csv = cli.file("unisender.csv");
        let path = csv.to_str().unwrap();
        let said = cli.ok(&["segment", "export", "крупные 2026", "--out", path, "--fields", "total,last_gift"]);
        assert_eq!(
            said,
            format!(
                "{path}: 1 donor(s) written; left out 1 who asked not to be contacted, 0 without consent, 0 without an e-mail\n"
            )
        );
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "email,Name,total,last_gift\na@x.org,Анна,6000.00,2026-04-01\n");
        let said = cli.ok(&["segment", "export", "этот год", "--out", path, "--fields", "gifts"]);
        assert!(
            said.ends_with("left out 1 who asked not to be contacted, 0 without consent, 1 without an e-mail\n"),
            "{said}"
        );
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "email,Name,gifts\na@x.org,Анна,2\n");
        // Борис changes his mind: he is written to again.
        cli.ok(&["donor", "contact", &boris, "--do-not-contact", "no"]);
        cli.ok(&["segment", "export", "крупные 2026", "--out", path]);
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "email,Name\nb@x.org,Борис\na@x.org,Анна\n");

        let other = cli.file("other.csv");
        let other_path = other.to_str().unwrap();
        cli.fails(&["segment", "count", "colour=red"], "unknown filter \"colour\"").await;
        cli.fails(&["segment", "save", "плохой", "min_total=lots"], "min_total=lots").await;
        cli.fails(&["segment", "export", "нет такого", "--out", other_path], "no segment called \"нет такого\"").await;
        cli.fails(
            &["segment", "export", "этот год", "--out", other_path, "--fields", "address"],
            "\"address\" is not a field",
        )
        .await;
        cli.fails(&["donor", "contact", "99999", "--consent", "yes"], "donor 99999 does not exist").await;
        cli.fails(&["donor", "contact", &anna], "give --consent yes|no").await;
        cli.fails(&["donor", "contact", &anna, "--consent", "maybe"], "maybe").await;
        assert!(!other.exists(), "a refused export wrote a file");
        assert!(cli.ok(&["verify"]).contains("all money invariants hold"));
    }
}

/// The import benchmark, small: every run it prints went through, almoner's imports and both
/// raw baselines wrote every row, and the figures come with their targets. (Without hledger or
/// ledger on the PATH, it says so and compares the rest.)
#[test]
fn the_import_benchmark_runs_every_contender_on_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["bench", "--import", "--rows", "3000", "--hledger-rows", "300", "--dir"])
        .arg(dir.path())
        .env("PATH", "")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    for run in ["1C --dry-run", "1C (commit)", "CSV --dry-run", "CSV (commit)", "SQLite's 2 MB cache", "64 MB cache"] {
        assert!(text.lines().any(|l| l.contains(run) && l.contains(" 3000 ")), "no run {run:?} of 3000 rows: {text}");
    }
    assert!(text.contains("hledger is not installed") && text.contains("ledger is not installed"), "{text}");
    assert_eq!(text.matches("vs raw, 2 MB cache:").count(), 3, "{text}");
    assert_eq!(text.matches("vs raw, 64 MB cache:").count(), 3, "{text}");
    assert!(text.contains("peak RSS of any almoner run"), "{text}");
    for db in ["commit_1c.db", "commit_csv.db", "raw.db", "raw_cache.db"] {
        assert_eq!(donations_in(&dir.path().join(db)), 3000, "{db}");
    }
}

/// Rows in the `donations` table of a SQLite file.
fn donations_in(db: &Path) -> i64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display())).await.unwrap();
        sqlx::query_scalar("SELECT COUNT(*) FROM donations").fetch_one(&mut conn).await.unwrap()
    })
}
