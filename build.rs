//! Builds the small C helper for INCRBYFLOAT's long double arithmetic.

fn main() {
    println!("cargo:rerun-if-changed=src/native/long_double.c");
    cc::Build::new()
        .file("src/native/long_double.c")
        .opt_level(2)
        .compile("slotcore_native");
}
