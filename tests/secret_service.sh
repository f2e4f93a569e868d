#!/bin/sh
# Run under dbus-run-session: a gnome-keyring daemon with a fresh login keyring unlocked by
# the password in $1; prints the bus address, then lives until its stdin is closed (the bus,
# and with it the daemon, end with this script).
printf '%s' "$1" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
echo "$DBUS_SESSION_BUS_ADDRESS"
exec cat >/dev/null
