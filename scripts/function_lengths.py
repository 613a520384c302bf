#!/usr/bin/env python3
"""Lists the longest function bodies in C++ sources (a brace-matching heuristic: a body is a `{` at namespace depth
that follows a `)` or a `) const`/`override`/`noexcept`, up to its matching `}`; lambdas count inside their function).
Usage: scripts/function_lengths.py [--max N] PATH...  (exit 1 when a body in those paths is longer than N lines)."""
import pathlib
import re
import sys

args = sys.argv[1:]
limit = None
if args[:1] == ["--max"]:
    limit, args = int(args[1]), args[2:]
found = []
for arg in args:
    p = pathlib.Path(arg)
    for f in ([p] if p.is_file() else sorted(p.rglob("*.cc"))):
        text = f.read_text(errors="replace")
        # Blank out comments, strings and character literals so their braces do not count.
        text = re.sub(r'R"(\w*)\((.*?)\)\1"', lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
        text = re.sub(r"//[^\n]*|/\*.*?\*/|\"(\\.|[^\"\\\n])*\"|'(\\.|[^'\\\n])*'",
                      lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
        depth, start, head, ns_depths = 0, None, None, []
        for i, ch in enumerate(text):
            if ch == "{":
                before = text[max(0, i - 300):i]
                if start is None and re.search(r"\)\s*(const|override|noexcept|final|\s|->\s*[\w:<>,\s*&]+)*$", before) \
                        and not re.search(r"\b(namespace|struct|class|enum|union)\b[^;{}]*$", before):
                    start, head = i, before.strip().splitlines()[-1] if before.strip() else ""
                    ns_depths.append(depth)
                depth += 1
            elif ch == "}":
                depth -= 1
                if start is not None and ns_depths and depth == ns_depths[-1]:
                    lines = text.count("\n", start, i) + 1
                    found.append((lines, f"{f}:{text.count(chr(10), 0, start) + 1}", head.strip()[:90]))
                    start, ns_depths = None, []
found.sort(reverse=True)
for lines, where, head in found[:15]:
    print(f"{lines:5} {where}  {head}")
if limit is not None:
    over = [x for x in found if x[0] > limit]
    print(f"{len(over)} function bodies over {limit} lines")
    sys.exit(1 if over else 0)
