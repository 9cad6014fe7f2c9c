#!/usr/bin/env bash
# A software TPM reached through PKCS#11 (tpm2-pkcs11), with no systemd: swtpm and the tpm2-abrmd resource manager
# in a private network namespace (the TPM's TCP ports are loopback inside it), a private D-Bus daemon on a unix
# socket under $EMU that clients reach abrmd by, and a tpm2-pkcs11 store with one token. Writes only under $EMU/tpm.
#   usage: EMU=<scratch dir> TPM_PIN=<user PIN> TPM_SO_PIN=<SO PIN> bash test/emu/tpm-up.sh
#   then:  eval "$(EMU=... bash test/emu/tpm-up.sh --env)"   the variables a client needs (TPM2_PKCS11_*, D-Bus)
# A resource manager is needed: without one the TPM runs out of object slots after a few commands (TPM_RC 0x902).
# Stop with test/emu/tpm-down.sh (by PID files). Needs root (unshare -n).
set -euo pipefail
EMU=${EMU:?set EMU to a scratch folder}
mkdir -p "$EMU"; EMU=$(cd "$EMU" && pwd)
T=$EMU/tpm
MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so

env_lines() {
    echo "export TPM2_PKCS11_STORE=$T/store"
    echo "export TPM2_PKCS11_TCTI=tabrmd:bus_type=session"
    echo "export TPM2TOOLS_TCTI=tabrmd:bus_type=session"
    echo "export DBUS_SESSION_BUS_ADDRESS=unix:path=$T/bus"
}
if [ "${1:-}" = --env ]; then env_lines; exit 0; fi

for c in swtpm tpm2-abrmd dbus-daemon tpm2_ptool unshare ip; do
    command -v "$c" >/dev/null || { echo "missing command $c (apt-get install swtpm tpm2-abrmd dbus libtpm2-pkcs11-tools iproute2)" >&2; exit 1; }
done
[ -f "$MODULE" ] || { echo "missing $MODULE (apt-get install libtpm2-pkcs11-1 libtss2-tcti-tabrmd0)" >&2; exit 1; }
unshare -n true 2>/dev/null || { echo "unshare -n failed: needs root with CAP_SYS_ADMIN" >&2; exit 1; }
for f in "$T"/*.pid; do
    [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && { echo "$(basename "$f" .pid) already running: run tpm-down.sh first" >&2; exit 1; }
done
rm -rf "$T"; mkdir -p "$T/state" "$T/store"

cat > "$T/dbus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    <allow user="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$T/dbus.conf" --fork --print-pid > "$T/dbus-daemon.pid"
eval "$(env_lines)"

# swtpm and abrmd share one network namespace: the TPM's ports exist only there, and abrmd is reached over D-Bus.
# swtpm --daemon returns once it listens, so abrmd finds it; the shell stays to reap abrmd.
unshare -n sh -c '
    ip link set lo up
    swtpm socket --tpm2 --tpmstate dir="$1/state" --server type=tcp,port=2321,bindaddr=127.0.0.1 \
        --ctrl type=tcp,port=2322,bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
        --pid file="$1/swtpm.pid" --log file="$1/swtpm.log" --daemon || exit 1
    tpm2-abrmd --session --allow-root --tcti=swtpm:host=127.0.0.1,port=2321 &
    echo $! > "$1/tpm2-abrmd.pid"
    wait' sh "$T" > "$T/abrmd.log" 2>&1 &

# abrmd owns its bus name once it has talked to the TPM: wait for that (a few seconds at most).
for _ in $(seq 100); do
    tpm2_getrandom 4 > /dev/null 2>&1 && break
    [ ! -s "$T/tpm2-abrmd.pid" ] || kill -0 "$(cat "$T/tpm2-abrmd.pid")" 2>/dev/null || { echo "tpm2-abrmd died: $(tail -1 "$T/abrmd.log")" >&2; exit 1; }
    sleep 0.1
done
tpm2_getrandom 4 > /dev/null || { echo "the software TPM does not answer through tpm2-abrmd: $(tail -1 "$T/abrmd.log")" >&2; exit 1; }

tpm2_ptool init --path "$T/store" > "$T/ptool.log"
tpm2_ptool addtoken --pid=1 --label=tpm0 --userpin="${TPM_PIN:?}" --sopin="${TPM_SO_PIN:?}" --path "$T/store" >> "$T/ptool.log"
echo "tpm up: token tpm0 ($MODULE)"
