#!/usr/bin/python3
"""A notification server for the tests: the desktop's notification daemon
needs a display, this one only the session bus.  It owns
org.freedesktop.Notifications, answers Notify (logging each call as a JSON
line to the file given as argument) and, for the test, emits ActionInvoked
from its own connection when TestInvoke(id, key) is called, as a daemon does
when the user clicks an action, and ActionInvoked with only the id (a
body of the wrong type) when TestInvokeMalformed(id) is called.  Prints "ready" on stdout once it owns the
name."""
import json
import sys

from gi.repository import Gio, GLib

XML = """<node><interface name="org.freedesktop.Notifications">
<method name="Notify"><arg type="s" direction="in"/><arg type="u" direction="in"/>
<arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="s" direction="in"/>
<arg type="as" direction="in"/><arg type="a{sv}" direction="in"/><arg type="i" direction="in"/>
<arg type="u" direction="out"/></method>
<method name="GetCapabilities"><arg type="as" direction="out"/></method>
<method name="TestInvoke"><arg type="u" direction="in"/><arg type="s" direction="in"/></method>
<method name="TestInvokeMalformed"><arg type="u" direction="in"/></method>
<signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
</interface></node>"""
PATH = "/org/freedesktop/Notifications"
IFACE = "org.freedesktop.Notifications"
log_file = sys.argv[1]
state = {"next": 1}


def call(conn, sender, path, iface, method, params, inv):
    if method == "Notify":
        app, _, icon, summary, body, actions, _, _ = params.unpack()
        nid = state["next"]
        state["next"] += 1
        with open(log_file, "a") as f:
            f.write(json.dumps({"id": nid, "app": app, "summary": summary, "body": body,
                                "actions": actions}) + "\n")
        inv.return_value(GLib.Variant("(u)", (nid,)))
    elif method == "GetCapabilities":
        inv.return_value(GLib.Variant("(as)", (["actions", "body"],)))
    elif method == "TestInvoke":
        conn.emit_signal(None, PATH, IFACE, "ActionInvoked", params)
        inv.return_value(None)
    elif method == "TestInvokeMalformed":  # what a broken or hostile daemon may send
        conn.emit_signal(None, PATH, IFACE, "ActionInvoked", params)
        inv.return_value(None)


def acquired(conn, name):
    print("ready", flush=True)


bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
bus.register_object(PATH, Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0], call, None, None)
Gio.bus_own_name_on_connection(bus, IFACE, Gio.BusNameOwnerFlags.NONE, acquired, None)
GLib.MainLoop().run()
