//! The deployment the README describes, for real: OpenSSH's sshd on a
//! loopback port with a throwaway host key, two accounts in the `almoner`
//! group whose sessions are forced into the console, each connected with
//! `ssh -tt` inside tmux. One places money while the other watches it
//! appear; the audit log names who did it; a connection killed in the middle
//! of an edit leaves nothing half-written. On a SQLite file in a shared
//! folder, and on a PostgreSQL database the accounts reach over loopback.
//! Needs root (it adds the accounts) and `sshd` (`.ci/run` installs
//! openssh-server).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use almoner::domain::Money;
use almoner::store::{DonationQuery, Store};

const BIN: &str = env!("CARGO_BIN_EXE_almoner");
const GROUP: &str = "almtest";
const USERS: [&str; 2] = ["almtest_f", "almtest_v"];

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The two runs share the accounts and the group: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Everything the test set up, taken down again however it ends.
struct Site {
    dir: tempfile::TempDir,
    /// The SQLite file, or the PostgreSQL address.
    db: PathBuf,
    sshd: Option<Child>,
    port: u16,
    socket: String,
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
        if let Some(mut s) = self.sshd.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        for u in USERS {
            let _ = Command::new("pkill").args(["-KILL", "-u", u]).status();
            let _ = Command::new("userdel").arg(u).status();
        }
        let _ = Command::new("groupdel").arg(GROUP).status();
    }
}

impl Site {
    /// `postgres`: the database's address there, else a SQLite file in the shared folder.
    fn up(postgres: Option<String>) -> Site {
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "this test adds two local accounts and runs sshd: run it as root (CI does)"
        );
        assert!(Path::new("/usr/sbin/sshd").exists(), "sshd is missing: apt-get install openssh-server (.ci/run does)");
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut site =
            Site { db: PathBuf::new(), dir, sshd: None, port, socket: format!("almoner-ssh-{}", std::process::id()) };
        let d = site.dir.path().to_path_buf();
        // Leftovers of an interrupted run go first.
        for u in USERS {
            let _ = Command::new("userdel").arg(u).status();
        }
        let _ = Command::new("groupdel").arg(GROUP).status();
        ok(Command::new("groupadd").arg(GROUP));
        // The data folder as the README sets it up: group-writable, new files kept in the group.
        let data = d.join("data");
        std::fs::create_dir(&data).unwrap();
        ok(Command::new("chgrp").arg(GROUP).arg(&data));
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o2775)).unwrap();
        // A PostgreSQL database's papers go to a folder the group shares (ALMONER_DOCUMENTS).
        let papers = data.join("papers");
        std::fs::create_dir(&papers).unwrap();
        ok(Command::new("chgrp").arg(GROUP).arg(&papers));
        std::fs::set_permissions(&papers, std::fs::Permissions::from_mode(0o2775)).unwrap();
        site.db = match &postgres {
            Some(url) => PathBuf::from(url),
            None => data.join("fund.db"),
        };
        ok(Command::new(BIN)
            .env("USER", "root")
            .env("ALMONER_DOCUMENTS", &papers)
            .arg("--db")
            .arg(&site.db)
            .args(["init", "--demo"]));
        let admin =
            |args: &[&str]| ok(Command::new(BIN).env("USER", "root").arg("--db").arg(&site.db).arg("user").args(args));
        admin(&["add", "root", "--role", "admin"]);
        admin(&["add", USERS[0], "--role", "fundraiser"]);
        admin(&["add", USERS[1], "--role", "viewer"]);
        for f in std::fs::read_dir(&data).unwrap() {
            let p = f.unwrap().path();
            ok(Command::new("chgrp").arg(GROUP).arg(&p));
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o664)).unwrap();
        }
        std::fs::create_dir(d.join("keys")).unwrap();
        ok(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(d.join("host_key")));
        for u in USERS {
            let home = d.join("home").join(u);
            ok(Command::new("useradd").args(["-M", "-g", GROUP, "-s", "/bin/sh", "-d"]).arg(&home).arg(u));
            // Not locked (sshd refuses locked accounts), but no password either: keys only.
            ok(Command::new("usermod").args(["-p", "*", u]));
            ok(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(d.join(u)));
            std::fs::copy(d.join(format!("{u}.pub")), d.join("keys").join(u)).unwrap();
        }
        std::fs::create_dir_all("/run/sshd").unwrap();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/keys/%u\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPubkeyAuthentication yes\nAllowGroups {GROUP}\n\
             Match Group {GROUP}\n    SetEnv LANG=C.UTF-8 ALMONER_DOCUMENTS={papers}\n    ForceCommand umask 002; exec {BIN} --db {db}\n",
            d = d.display(),
            db = site.db.display(),
            papers = papers.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        ok(Command::new("/usr/sbin/sshd").args(["-t", "-f"]).arg(d.join("sshd_config")));
        site.sshd = Some(
            Command::new("/usr/sbin/sshd")
                .args(["-D", "-e", "-f"])
                .arg(d.join("sshd_config"))
                .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
                .spawn()
                .unwrap(),
        );
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "sshd did not start: {}", site.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        site
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// `user` connects with `ssh -tt` in tmux session `user`.
    fn connect(&self, user: &str) {
        let key = self.dir.path().join(user);
        // The window stays after ssh ends, so a failure shows what ssh said.
        let ssh = format!(
            "ssh -tt -i {} -p {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR {user}@127.0.0.1; sleep 60",
            key.display(),
            self.port
        );
        // A session per person, named after them.
        ok(Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null", "new-session", "-d", "-x", "100", "-y", "30", "-s", user])
            .arg(ssh));
    }

    fn tmux(&self, args: &[&str]) -> String {
        ok(Command::new("tmux").args(["-L", &self.socket]).args(args))
    }

    fn keys(&self, user: &str, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", &format!("={user}:"), k]);
        }
    }

    fn literal(&self, user: &str, text: &str) {
        self.tmux(&["send-keys", "-t", &format!("={user}:"), "-l", text]);
    }

    fn screen(&self, user: &str) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &format!("={user}:")])
    }

    fn wait_for(&self, user: &str, text: &str) -> String {
        let started = Instant::now();
        loop {
            let s = self.screen(user);
            if s.contains(text) {
                return s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{user}: no {text:?} on screen:\n{s}\nsshd said:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

async fn open(db: &Path) -> Store {
    Store::open(db, "root").await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_staff_over_ssh_see_each_others_work_and_a_dropped_connection_writes_nothing() {
    two_staff_over_ssh(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_staff_over_ssh_on_postgres() {
    let url = common::pg::server().database("ssh_two_staff").await;
    two_staff_over_ssh(Some(url)).await;
}

async fn two_staff_over_ssh(postgres: Option<String>) {
    let _one = ONE_AT_A_TIME.lock().await;
    let site = Site::up(postgres);
    let (fundraiser, viewer) = (USERS[0], USERS[1]);
    let store = open(&site.db).await;
    let q = DonationQuery { unallocated_only: true, designated: Some(false), limit: Some(1), ..Default::default() };
    let donation = store.list_donations(&q).await.unwrap().remove(0);
    store.close().await;

    // The viewer watches the donations inbox; the fundraiser's console opens on their own work.
    site.connect(viewer);
    site.wait_for(viewer, "Qualification");
    site.keys(viewer, &["g", "d"]);
    site.wait_for(viewer, "Designation");
    site.keys(viewer, &["/"]);
    site.literal(viewer, &donation.payer);
    site.keys(viewer, &["Enter"]);
    site.wait_for(viewer, &donation.unallocated.en());
    site.connect(fundraiser);
    site.wait_for(fundraiser, "My work");
    site.keys(fundraiser, &[":"]);
    site.literal(fundraiser, &format!("split {}", donation.id));
    site.keys(fundraiser, &["Enter"]);
    site.wait_for(fundraiser, "to place:");
    site.literal(fundraiser, "100");
    site.wait_for(fundraiser, "placing: 100.00");
    site.keys(fundraiser, &["Enter"]);
    site.wait_for(fundraiser, "placed on 1 case(s)");
    // It appears on the other screen by itself.
    let left = (donation.unallocated - Money::from_minor(100_00)).en();
    site.wait_for(viewer, &left);

    let store = open(&site.db).await;
    let (_, allocations) = store.donation(donation.id).await.unwrap();
    let by: Vec<&str> = allocations.iter().map(|a| a.by.as_str()).collect();
    assert_eq!(by.iter().filter(|b| **b == fundraiser).count(), 1, "{by:?}");
    let actor: String = common::one(
        &store,
        &format!(
            "SELECT actor FROM audit_log WHERE action = 'allocate' AND entity_id = {} ORDER BY id DESC LIMIT 1",
            donation.id
        ),
    )
    .await;
    assert_eq!(actor, fundraiser, "the audit log names the person at the other end of the connection");
    // The viewer may look, not place.
    site.keys(viewer, &[":"]);
    site.literal(viewer, &format!("allocate {} 1=1", donation.id));
    site.keys(viewer, &["Enter"]);
    site.wait_for(viewer, "not allowed for your role");

    // The connection drops in the middle of the next split: nothing of it is written.
    let before = common::fingerprint_except(&store, "audit_log").await;
    site.keys(fundraiser, &[":"]);
    site.literal(fundraiser, &format!("split {}", donation.id));
    site.keys(fundraiser, &["Enter"]);
    site.wait_for(fundraiser, "to place:");
    site.literal(fundraiser, "250");
    site.wait_for(fundraiser, "placing: 250.00");
    // The ssh client dies (a laptop lid closed, a network gone): the server sees the connection drop.
    let pane_pid = site.tmux(&["display-message", "-p", "-t", &format!("={fundraiser}:"), "#{pane_pid}"]);
    let client = ok(Command::new("pgrep").args(["-P", pane_pid.trim(), "ssh"]));
    ok(Command::new("kill").args(["-KILL", client.trim()]));
    // The console on the server side ends with its connection.
    let started = Instant::now();
    while Command::new("pgrep").args(["-u", fundraiser, "almoner"]).status().is_ok_and(|s| s.success()) {
        assert!(started.elapsed() < Duration::from_secs(15), "the console outlived its connection");
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = common::fingerprint_except(&store, "audit_log").await;
    assert_eq!(before, after, "a split cut off with its connection wrote something");
    common::assert_invariants(&store).await;
}
