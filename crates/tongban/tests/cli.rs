//! The `tongban` command line as an operator uses it.

use std::process::Command;

mod common;
use common::tongban;

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

#[test]
fn serve_demo_starts_from_any_folder_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = work.path().join("d");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap_or_default(),
        ])
        .current_dir(work.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        line.starts_with("Tongban is listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(data.join("tongban.db").exists() && data.join("index").is_dir());
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}
