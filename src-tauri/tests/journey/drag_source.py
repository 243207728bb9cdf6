#!/usr/bin/env python3
"""A small window that offers the files named on its command line for dragging, as a file
manager would (text/uri-list over XDND). The journey test drags from it with xdotool into
the app's window. Placed at the bottom-right corner of the screen, away from the drop point.
"""
import sys
from pathlib import Path

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, Gtk  # noqa: E402

uris = [Path(p).resolve().as_uri() for p in sys.argv[1:]]

window = Gtk.Window(title="Sealpost test drag source")
window.set_default_size(160, 100)
window.move(1100, 680)
box = Gtk.EventBox()
box.add(Gtk.Label(label="drag me"))
box.drag_source_set(Gdk.ModifierType.BUTTON1_MASK, [], Gdk.DragAction.COPY)
box.drag_source_add_uri_targets()


def give(_widget, _context, data, _info, _time):
    data.set_uris(uris)


box.connect("drag-data-get", give)
window.add(box)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
