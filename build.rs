//! No code is generated: this build script exists so that its build-dependencies (Cargo.toml)
//! take part in feature resolution for build-time crates. The test build's dev-dependencies
//! include proc-macros (insta's redactions use pest_derive) that turn on `memchr`'s default
//! features on the build-time side; psm's build script shares that `memchr` (through `object`),
//! so without this the test build would rebuild psm, stacker and every polars crate after
//! `cargo run --release -- plan`. `.ci/run` fails if the test build rebuilds a dependency.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
