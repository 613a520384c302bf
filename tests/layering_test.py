#!/usr/bin/env python3
"""The module layering, checked. A module is a folder: src/<m>/ and include/vane/<m>/, built as vane_<m> by
vane_module(<m> ... DEPS ...) in src/CMakeLists.txt. Every #include "vane/<x>/..." in a module's sources and public
headers must name the module itself or one it links (directly or through its dependencies), and a private header
(any src/**/*.h, e.g. src/serve/http/internal.h) may be included only from its own folder (tests excepted).
Prints every violation; exit 1 when there is one."""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent
cmake = (root / "src" / "CMakeLists.txt").read_text()
deps = {}
for m in re.finditer(r"vane_module\((\w+)(.*?)\)\n", cmake, re.S):
    d = re.search(r"DEPS(.*)", m.group(2), re.S)
    deps[m.group(1)] = [x[len("vane_"):] for x in (d.group(1).split() if d else []) if x.startswith("vane_")]


def closure(name):
    seen, todo = {name}, [name]
    while todo:
        for d in deps.get(todo.pop(), []):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


include_re = re.compile(r'^\s*#include\s+"([^"]+)"')
errors = []
for module in deps:
    allowed = closure(module)
    files = [p for p in (root / "src" / module).rglob("*") if p.suffix in (".cc", ".h")]
    files += list((root / "include" / "vane" / module).glob("*.h"))
    for f in files:
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            m = include_re.match(line)
            if not m:
                continue
            inc = m.group(1)
            if inc.startswith("vane/"):
                target = inc.split("/")[1]
                if target not in allowed:
                    errors.append(f"{f.relative_to(root)}:{n}: vane_{module} includes {inc} but does not link vane_{target}")
            elif not inc.startswith("vane_") and not (f.parent / inc).exists():
                errors.append(f"{f.relative_to(root)}:{n}: {inc} is neither a public header nor beside this file")

private = list((root / "src").rglob("*.h"))
users = [p for d in ("src", "apps", "bench") for p in (root / d).rglob("*") if p.suffix in (".cc", ".h")]
for h in private:
    pat = re.compile(r'^\s*#include\s+"(?:[^"]*/)?' + re.escape(h.name) + '"', re.M)
    for f in users:
        if f.parent != h.parent and pat.search(f.read_text(errors="replace")):
            errors.append(f"{f.relative_to(root)}: includes the private header {h.relative_to(root)}")

for e in errors:
    print(e)
print(f"layering: {len(deps)} modules, {sum(1 for _ in private)} private headers checked; {len(errors)} violations")
sys.exit(1 if errors else 0)
