//! Generates the gRPC code (src/api/) from proto/switchboard/v1 with tonic-prost-build and the
//! protoc shipped in protoc-bin-vendored: a fresh machine needs no system protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // prost-build finds protoc through PROTOC (the build script is single-threaded).
    std::env::set_var("PROTOC", protoc);
    let protos = [
        "proto/switchboard/v1/types.proto",
        "proto/switchboard/v1/events.proto",
        "proto/switchboard/v1/control.proto",
    ];
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        // Reflection serves this descriptor set (grpcurl-style tools list and call services).
        .file_descriptor_set_path(out.join("switchboard_descriptor.bin"))
        .compile_protos(&protos, &["proto"])?;
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    Ok(())
}
