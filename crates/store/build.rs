// The migrations are embedded at compile time; a new or changed one must rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
