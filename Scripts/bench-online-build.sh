#!/usr/bin/env bash
# What trustvault-online's HTTP client adds to a clean CI build: builds AsyncHTTPClient's whole
# dependency closure (swift-nio, swift-nio-ssl with its BoringSSL, nio-http2, nio-extras, …) alone,
# in a throw-away package, and prints wall and CPU time. Compare with a clean
# `swift build --build-tests` of the project (the same machine, the same load).
set -euo pipefail
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
mkdir -p "$probe/Sources/Probe"
cat > "$probe/Package.swift" <<'SWIFT'
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "ahc-probe",
    dependencies: [.package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0")],
    targets: [.target(name: "Probe", dependencies: [.product(name: "AsyncHTTPClient", package: "async-http-client")])]
)
SWIFT
echo 'import AsyncHTTPClient' > "$probe/Sources/Probe/Probe.swift"
cd "$probe"
/usr/bin/time -f "AsyncHTTPClient closure, clean debug build: %e s wall, %U s user, %S s sys" swift build 2>&1 | tail -n 2
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
