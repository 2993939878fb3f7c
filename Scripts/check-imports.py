#!/usr/bin/env python3
"""Checks the hard edge around the executables.

Every module an executable's sources import must be declared as a dependency of that target in
Package.swift (system modules aside), and no executable imports the lower layers (TrustCore,
Formats, SmartCard, Metadata) itself: trustvault speaks to KeyVault, trustvault-online to Online,
both print and ask through CLISupport. The offline trustvault never imports the online side.

Usage: Scripts/check-imports.py [ROOT]   (ROOT: the package directory; default: this script's parent's parent)
Prints one line per problem and exits 1 if there is any, else prints a summary and exits 0.
"""
import os
import re
import sys

SYSTEM = {"Foundation", "FoundationEssentials", "Glibc", "Darwin", "Dispatch", "_Concurrency", "Synchronization"}
LOWER = {"TrustCore", "Formats", "SmartCard", "Metadata"}
NEVER = {"trustvault": {"Online", "AsyncHTTPClient", "NIOCore", "NIOSSL", "NIOHTTP1", "NIOPosix"}}
IMPORT = re.compile(r"^\s*(?:@[\w()]+\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_]\w*)", re.M)


def targets(manifest):
    """{name: (kind, declared dependencies)} for each target in Package.swift."""
    found = {}
    for m in re.finditer(r"\.(executableTarget|target)\(\s*name:\s*\"([^\"]+)\"", manifest):
        kind, name = m.group(1), m.group(2)
        # The target's text runs to the next target declaration.
        nxt = re.search(r"\.(executableTarget|target|testTarget|plugin|systemLibrary)\(", manifest[m.end():])
        body = manifest[m.end(): m.end() + nxt.start()] if nxt else manifest[m.end():]
        deps = set()
        d = re.search(r"dependencies:\s*\[(.*?)\]\s*,?\s*(?:path:|exclude:|swiftSettings:|plugins:|\))", body, re.S)
        if d:
            text = d.group(1)
            deps |= set(re.findall(r"\.product\(\s*name:\s*\"([^\"]+)\"", text))
            text = re.sub(r"\.product\([^)]*\)", "", text)
            deps |= set(re.findall(r"\"([^\"]+)\"", text))
            # let x509 = Target.Dependency.product(name: "X509", …) shorthands
            for var in re.findall(r"\b([a-z]\w*)\b", text):
                v = re.search(r"let\s+%s\s*=\s*Target\.Dependency\.product\(name:\s*\"([^\"]+)\"" % var, manifest)
                if v:
                    deps.add(v.group(1))
        found[name] = (kind, deps)
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "Package.swift")) as f:
        manifest = f.read()
    problems = []
    checked = []
    for name, (kind, deps) in sorted(targets(manifest).items()):
        if kind != "executableTarget":
            continue
        source_dir = os.path.join(root, "Sources", name)
        if not os.path.isdir(source_dir):
            continue  # benchmarks and tools with their own path are not the product's executables
        imported = {}
        for dirpath, _, files in os.walk(source_dir):
            for file in sorted(files):
                if not file.endswith(".swift"):
                    continue
                path = os.path.join(dirpath, file)
                with open(path) as f:
                    for module in IMPORT.findall(f.read()):
                        imported.setdefault(module, []).append(os.path.relpath(path, root))
        for module, files in sorted(imported.items()):
            where = ", ".join(sorted(set(files)))
            if module in LOWER:
                problems.append(f"{where}: the executable {name} imports {module}; use what its library (KeyVault or Online) or CLISupport offers")
            elif module in NEVER.get(name, set()):
                problems.append(f"{where}: the offline executable {name} imports {module}, part of the online side")
            elif module not in deps and module not in SYSTEM:
                problems.append(f"{where}: {name} imports {module}, which Package.swift does not declare as its dependency")
        checked.append(f"{name}: {', '.join(sorted(m for m in imported if m not in SYSTEM))}")
    if not checked:
        problems.append("no executable target with sources under Sources/ was found in Package.swift")
    for p in problems:
        print(p)
    if problems:
        return 1
    for line in checked:
        print("ok: " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
