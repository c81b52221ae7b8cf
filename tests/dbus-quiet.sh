#!/bin/sh
# dbus-run-session --dbus-daemon=tests/dbus-quiet.sh: the session bus without
# its "Activating service..." lines on the terminal ($MM_DBUS_LOG keeps them).
exec dbus-daemon "$@" 2>>"${MM_DBUS_LOG:-/dev/null}"
