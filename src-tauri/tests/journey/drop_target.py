#!/usr/bin/env python3
"""A small window that takes files dropped on it, as a file manager's folder would
(text/uri-list over XDND): each file dropped is copied into the folder named on the command
line, and its address written to `dropped.log` there. The journey test drags an attachment
out of the app onto it with xdotool. Placed at the bottom-right corner of the screen.
"""
import shutil
import sys
from pathlib import Path

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

into = Path(sys.argv[1])
into.mkdir(parents=True, exist_ok=True)

window = Gtk.Window(title="Sealpost test drop target")
window.set_default_size(200, 140)
window.move(1060, 640)
box = Gtk.EventBox()
box.add(Gtk.Label(label="drop here"))
box.drag_dest_set(Gtk.DestDefaults.ALL, [], Gdk.DragAction.COPY)
box.drag_dest_add_uri_targets()


def take(_widget, context, _x, _y, data, _info, time):
    with open(into / "dropped.log", "a", encoding="utf-8") as log:
        for uri in data.get_uris():
            log.write(uri + "\n")
            path, _host = GLib.filename_from_uri(uri)
            # Mode bits too, as a file manager's copy keeps them.
            shutil.copy(path, into / Path(path).name)
    Gtk.drag_finish(context, True, False, time)


box.connect("drag-data-received", take)
window.add(box)
window.connect("destroy", Gtk.main_quit)
window.show_all()
Gtk.main()
