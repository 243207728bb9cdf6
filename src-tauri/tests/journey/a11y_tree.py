#!/usr/bin/env python3
"""Prints the app's accessibility tree as a screen reader reads it (AT-SPI, which WebKitGTK
feeds): one line per node, `depth<TAB>role<TAB>name`, for the application whose name
contains the first argument. The journey test asserts on what is heard.
"""
import re
import sys
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

wanted = sys.argv[1].lower()


def walk(node, depth, out):
    if depth > 60:
        return
    try:
        role, name = node.get_role_name(), (node.get_name() or "")
    except Exception:  # a node that went away while being read
        return
    # Spaces as a screen reader voices them: runs of white space as one, none before a comma.
    spoken = re.sub(r"\s+,", ",", " ".join(name.split()))
    out.append(f"{depth}\t{role}\t{spoken}")
    for i in range(node.get_child_count()):
        child = node.get_child_at_index(i)
        if child is not None:
            walk(child, depth + 1, out)


desktop = Atspi.get_desktop(0)
for _ in range(40):
    apps = [desktop.get_child_at_index(i) for i in range(desktop.get_child_count())]
    found = [a for a in apps if a is not None and wanted in (a.get_name() or "").lower()]
    if found:
        break
    time.sleep(0.25)
else:
    sys.exit(f"no application named like {wanted!r} on the accessibility bus")
lines = []
for app in found:
    walk(app, 0, lines)
print("\n".join(lines))
