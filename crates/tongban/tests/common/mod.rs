//! Running the `tongban` binary as an operator would, shared by the command-line tests.

use std::process::Command;

/// Exit code, stdout and stderr of `tongban ARGS` run in `dir`, without inherited settings.
pub fn tongban(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tongban"))
        .args(args)
        .current_dir(dir)
        .env_remove("TONGBAN_DATABASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("cannot run tongban: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
