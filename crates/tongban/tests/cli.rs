//! The `tongban` command line as an operator uses it.

use std::process::Command;

mod common;
use common::tongban;

/// Like `tongban`, with `input` on standard input.
pub fn tongban_with_input(
    args: &[&str],
    dir: &std::path::Path,
    input: &str,
) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(args)
        .current_dir(dir)
        .env_remove("TONGBAN_DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run tongban: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn import_export_and_reindex_work_on_a_data_folder() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("data");
    let data = data.to_str().unwrap_or_default();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/demo/qinghe");
    let (code, out, err) = tongban(&["import", demo, "--data-dir", data], work.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("166 items"), "{out}");
    let (code, out, err) = tongban(&["reindex", "--data-dir", data], work.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("search index rebuilt"), "{out}");
    let export = work.path().join("export");
    let (code, _, err) = tongban(
        &[
            "export",
            export.to_str().unwrap_or_default(),
            "--data-dir",
            data,
        ],
        work.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(export.join("catalog.json").exists() && export.join("divisions.csv").exists());
}

#[test]
fn import_of_a_bad_file_lists_every_problem_and_fails() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = work.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(bad.join("divisions.csv"), "code,name,level,parent_code,kind\n130534000000,清河县,county,,县\n1305341,坏,township,130534000000,镇\n130534101000,连庄镇,city,130534000000,镇\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("data");
    let (code, _, err) = tongban(
        &[
            "import",
            bad.to_str().unwrap_or_default(),
            "--data-dir",
            data.to_str().unwrap_or_default(),
        ],
        work.path(),
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("divisions.csv:3:") && err.contains("divisions.csv:4:"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
}

#[test]
fn bad_configuration_fails_start_up_with_a_clear_message() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        work.path().join("tongban.toml"),
        "listen = \"not-an-address\"\ntenant = \"99\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = tongban(&["migrate"], work.path());
    assert_ne!(code, 0);
    assert!(err.contains("listen") && err.contains("tenant"), "{err}");
    std::fs::write(work.path().join("tongban.toml"), "no_such_key = 1\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = tongban(&["migrate"], work.path());
    assert_ne!(code, 0);
    assert!(err.contains("no_such_key"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(["migrate", "--database-url", "mysql://localhost/x"])
        .current_dir(work.path())
        .env("TONGBAN_MAX_CONNECTIONS", "0")
        .env("TONGBAN_SOMETHING_ELSE", "not ours")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("max_connections") && err.contains("database_url"),
        "{err}"
    );
}

/// Runs `serve --demo` on `data` until it is listening; returns the ready line and what it
/// printed after it (the demo accounts), then stops it with SIGTERM and checks it exits 0.
fn serve_demo_once(work: &std::path::Path, data: &std::path::Path) -> (String, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap_or_default(),
        ])
        .current_dir(work)
        .env_remove("TONGBAN_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
    (line, rest)
}

#[test]
fn serve_demo_starts_from_any_folder_and_stops_on_sigterm() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("d");
    let (line, rest) = serve_demo_once(work.path(), &data);
    assert!(
        line.starts_with("Tongban is listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(data.join("tongban.db").exists() && data.join("index").is_dir());
    // The demo accounts are listed, with their password, once the server is up.
    for username in [
        "admin",
        "supervisor",
        "dispatcher",
        "clerk",
        "handler",
        "head",
    ] {
        assert!(rest.contains(username), "{username} listed in: {rest}");
    }
    assert!(
        rest.contains("Qinghe-demo-2026") && rest.contains("13800000001"),
        "{rest}"
    );
}

#[test]
fn admin_create_user_makes_staff_accounts_and_refuses_weak_or_taken_ones() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("data");
    let data = data.to_str().unwrap_or_default();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/demo/qinghe");
    let (code, _, err) = tongban(&["import", demo, "--data-dir", data], work.path());
    assert_eq!(code, 0, "{err}");
    let create = |username: &str, unit: &str, password: Option<&str>| {
        let mut args = vec![
            "admin",
            "create-user",
            "--username",
            username,
            "--name",
            "王芳",
            "--unit",
            unit,
            "--role",
            "window_clerk",
            "--role",
            "department_handler",
            "--data-dir",
            data,
        ];
        match password {
            Some(p) => {
                args.push("--password-stdin");
                tongban_with_input(&args, work.path(), &format!("{p}\n"))
            }
            None => tongban(&args, work.path()),
        }
    };

    // Without a demo, no demo account exists: `admin` is free to take.
    let (code, out, err) = create("admin", "130534-SPJ", None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created staff account admin"), "{out}");
    let generated = out
        .lines()
        .find_map(|l| l.strip_prefix("initial password (shown once): "))
        .unwrap_or_else(|| panic!("no generated password in {out}"));
    assert!(generated.chars().count() >= 10, "{generated}");

    let (code, _, err) = create("wang.fang", "130534-SPJ", Some("password123"));
    assert_ne!(code, 0);
    assert!(err.contains("password") && err.contains("common"), "{err}");
    let (code, _, err) = create("wang.fang", "130534-SPJ", Some("short"));
    assert_ne!(code, 0);
    assert!(err.contains("at least 10"), "{err}");
    let (code, _, err) = create("wang.fang", "130534-NOPE", Some("Wang-Fang-2026!"));
    assert_ne!(code, 0);
    assert!(err.contains("unit"), "{err}");
    // The refusals above wrote nothing: the name is still free, and then taken.
    let (code, out, err) = create("wang.fang", "130534-SPJ", Some("Wang-Fang-2026!"));
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("initial password"),
        "a password given is never echoed: {out}"
    );
    let (code, _, err) = create("wang.fang", "130534-SPJ", Some("Wang-Fang-2026!"));
    assert_ne!(code, 0);
    assert!(err.contains("username"), "{err}");
    let (code, out, _) = tongban(&["audit", "verify", "--data-dir", data], work.path());
    assert_eq!(code, 0);
    // The import and the two accounts created; the refusals left no trace.
    assert!(out.contains("3 entries"), "{out}");
}

#[test]
fn keys_rotate_adds_a_key_and_leaves_nothing_under_the_old_one() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("d");
    serve_demo_once(work.path(), &data);
    let keys_file = data.join("keys.toml");
    let before = std::fs::read_to_string(&keys_file).unwrap_or_else(|e| panic!("{e}"));
    let d = data.to_str().unwrap_or_default();

    let (code, out, err) = tongban(&["keys", "rotate", "--data-dir", d], work.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added data key 2"), "{out}");
    // "re-encrypted under key 2: N users checked, M rewritten"
    let rewritten: u64 = out
        .lines()
        .find(|l| l.starts_with("re-encrypted under key 2:"))
        .and_then(|l| l.rsplit(", ").next())
        .and_then(|p| p.strip_suffix(" rewritten"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(
        rewritten >= 3,
        "the demo's phone and ID numbers were rewritten: {out}"
    );

    // Keep only the new key: every number must still open, so nothing is left to rewrite
    // (a ciphertext under key 1 would fail here, naming the missing key).
    #[derive(serde::Deserialize, serde::Serialize)]
    struct KeyFile {
        data_keys: Vec<String>,
        index_key: String,
    }
    let mut keys: KeyFile =
        toml::from_str(&std::fs::read_to_string(&keys_file).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(keys.data_keys.len(), 2);
    assert!(keys.data_keys[0].starts_with("2:") && before.contains(&keys.data_keys[1]));
    keys.data_keys.truncate(1);
    std::fs::write(&keys_file, toml::to_string(&keys).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = tongban(&["keys", "reencrypt", "--data-dir", d], work.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" 0 rewritten"), "{out}");
    let (code, out, err) = tongban(&["audit", "verify", "--data-dir", d], work.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("intact"), "{out}");

    let (code, out, _) = tongban(&["keys", "new", "--id", "7"], work.path());
    assert_eq!(code, 0);
    assert!(
        out.trim().starts_with("7:") && out.trim().len() > 40,
        "{out}"
    );
}

#[test]
fn apikey_create_prints_the_key_last_and_revoke_ends_it() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("data");
    let data = data.to_str().unwrap_or_default();
    let (code, out, err) = tongban(
        &["apikey", "create", "--name", "城管通", "--data-dir", data],
        work.path(),
    );
    assert_eq!(code, 0, "{err}");
    let key = out.lines().last().unwrap_or_default().trim().to_owned();
    assert!(key.starts_with("tb311_") && key.len() > 30, "{out}");
    assert!(
        !out.lines().last().unwrap_or_default().contains(' '),
        "the key alone on the last line"
    );
    let (code, out, _) = tongban(&["apikey", "revoke", &key, "--data-dir", data], work.path());
    assert_eq!(code, 0);
    assert!(out.contains("revoked 1"), "{out}");
    let (code, _, err) = tongban(
        &["apikey", "revoke", "--name", "城管通", "--data-dir", data],
        work.path(),
    );
    assert_ne!(code, 0, "nothing left to revoke");
    assert!(err.contains("no live API key"), "{err}");
}

#[test]
fn route_eval_prints_top1_top3_and_n_as_json() {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("data");
    let file = work.path().join("new.csv");
    std::fs::write(
        &file,
        "id,kind,text,township_code,village_code,department,urgency\n\
         T1,投诉,我们厂老板欠了三个月工资不给，找他就躲,,,130534-RSJ,normal\n\
         T2,求助,家里突然停电了，邻居家也没电，大半夜的啥也看不见,130534101000,,130534-GDGS,urgent\n\
         T3,投诉,村东头的坑塘里全是垃圾，夏天臭得不行,130534102000,130534102201,130534102000,normal\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, err) = tongban(
        &[
            "route-eval",
            file.to_str().unwrap_or_default(),
            "--data-dir",
            data.to_str().unwrap_or_default(),
        ],
        work.path(),
    );
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value =
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(json["n"], 3);
    let (top1, top3) = (
        json["top1"].as_f64().unwrap_or(-1.0),
        json["top3"].as_f64().unwrap_or(-1.0),
    );
    assert!((0.0..=1.0).contains(&top1) && top3 >= top1, "{json}");
    assert!(top3 >= 2.0 / 3.0, "these three are plain cases: {json}");
    let (code, _, err) = tongban(
        &[
            "route-eval",
            "missing.csv",
            "--data-dir",
            data.to_str().unwrap_or_default(),
        ],
        work.path(),
    );
    assert_ne!(code, 0);
    assert!(err.contains("missing.csv"), "{err}");
}
