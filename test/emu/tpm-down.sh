#!/usr/bin/env bash
# Stop what tpm-up.sh started, by its PID files only (each checked against the program's name first).
#   usage: EMU=<scratch dir> bash test/emu/tpm-down.sh
set -uo pipefail
T=${EMU:?set EMU to a scratch folder}/tpm
for name in tpm2-abrmd swtpm dbus-daemon; do
    f=$T/$name.pid
    [ -s "$f" ] || continue
    pid=$(cat "$f"); rm -f "$f"
    exe=$(basename "$(readlink "/proc/$pid/exe" 2>/dev/null)"); exe=${exe% (deleted)}
    [ "$exe" = "$name" ] || continue
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
done
true
