"""A StatusNotifierWatcher on the session bus, standing in for a desktop panel's: it takes
the tray icons apps register (StatusNotifierItem, the protocol libayatana-appindicator
speaks) and writes each as "BUS_NAME OBJECT_PATH" on a line of the file given. It also says
a host is there, as a panel would, so that apps show their icons through it."""

import sys

from gi.repository import Gio, GLib

XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""

log = open(sys.argv[1], "a", buffering=1)
items = []


def call(conn, sender, path, iface, method, params, invocation):
    if method == "RegisterStatusNotifierItem":
        (given,) = params.unpack()
        # An item names its object path (its bus name is the caller) or its bus name.
        bus, obj = (sender, given) if given.startswith("/") else (given, "/StatusNotifierItem")
        items.append(f"{bus}{obj}")
        log.write(f"{bus} {obj}\n")
        conn.emit_signal(None, "/StatusNotifierWatcher", "org.kde.StatusNotifierWatcher",
                         "StatusNotifierItemRegistered", GLib.Variant("(s)", (f"{bus}{obj}",)))
    invocation.return_value(None)


def get(conn, sender, path, iface, name):
    return {
        "RegisteredStatusNotifierItems": GLib.Variant("as", items),
        "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
        "ProtocolVersion": GLib.Variant("i", 0),
    }[name]


def acquired(conn, name):
    info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]
    conn.register_object("/StatusNotifierWatcher", info, call, get, None)


def owned(conn, name):
    log.write("ready\n")


Gio.bus_own_name(Gio.BusType.SESSION, "org.kde.StatusNotifierWatcher",
                 Gio.BusNameOwnerFlags.NONE, acquired, owned, lambda *a: sys.exit(1))
GLib.MainLoop().run()
