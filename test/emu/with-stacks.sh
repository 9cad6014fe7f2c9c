#!/usr/bin/env bash
# Run CMD with the emulated PKCS#11 stacks up, described by HSM_BENCH_TEST_* variables (test/helpers/emu.ts
# reads them), and stop them all whatever happens: pico-hsm SmartCard-HSMs (../shared/emu) reached through OpenSC
# and through CardContact's sc-hsm-embedded module, SoftHSM2 tokens over p11-kit remoting (../shared/emu), and a
# software TPM through tpm2-pkcs11 (test/emu/tpm-up.sh).
#   usage: bash test/emu/with-stacks.sh CMD [ARGS...]        e.g.  bash test/emu/with-stacks.sh npm test
#   env:   HSM_BENCH_EMU_CACHE=<dir>  keep the scratch dir (the emulator build) between runs; token
#                                     state is still reset each run. One run at a time per dir.
#          HSM_BENCH_EMU_REQUIRED=1   a stack that cannot start fails the run (CI) instead of its
#                                     tests being skipped.
# Exits with CMD's exit code (1 if a required stack is missing). Needs root with CAP_SYS_ADMIN (private
# network namespaces for pcscd and the TPM; p11-kit-proxy's mount namespace).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The emulator scripts live beside the repo (CI copies shared/ next to the fresh clone); they are
# called in place, never copied, and write only under $EMU.
S=$ROOT/../shared/emu
[ $# -gt 0 ] || { echo "usage: bash test/emu/with-stacks.sh CMD [ARGS...]" >&2; exit 2; }
[ -d "$S" ] || { echo "emu: missing $S (the shared emulator scripts must sit beside the repo)" >&2; exit 2; }
S=$(cd "$S" && pwd)
REQUIRED=${HSM_BENCH_EMU_REQUIRED:-0}

# Fixed here, not inherited: the exported variables and the tests' expectations (2 tokens each, slot
# layout, PIN) depend on them, and a developer's shell may have the scripts' knobs set.
PIN=648219
SO_PIN=3537363231383830
PICO_TOKENS=2
SHSM_TOKENS=2
export PICO_PIN=$PIN SHSM_PIN=$PIN STRIDE=1 P11KIT_SOCKET=0
unset PICO_HSM_BIN
# Descriptions inherited from an outer run must not describe stacks this run did not start.
unset "${!HSM_BENCH_TEST_@}"

if [ -n "${HSM_BENCH_EMU_CACHE:-}" ]; then
    mkdir -p "$HSM_BENCH_EMU_CACHE"
    EMU=$(cd "$HSM_BENCH_EMU_CACHE" && pwd)
    own_emu=0
else
    EMU=$(mktemp -d "${TMPDIR:-/tmp}/hsm-bench-emu.XXXXXX")
    own_emu=1
fi
# Every script finds its state through EMU (replug and proxy-run too, so CMD keeps it exported).
export EMU
LOGS=$EMU/logs
mkdir -p "$LOGS"

note() { echo "emu: $*" >&2; }

stop_stacks() {
    "$S/pico-hsm-down.sh" >> "$LOGS/down.log" 2>&1 || true
    "$S/p11kit-down.sh" >> "$LOGS/down.log" 2>&1 || true
    bash "$ROOT/test/emu/tpm-down.sh" >> "$LOGS/down.log" 2>&1 || true
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_stacks
    # Only a dir this script made is removed: a cache dir keeps the build.
    [ "$own_emu" = 1 ] && rm -rf -- "$EMU"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A cache dir may still hold processes of an interrupted run (PID files; the down scripts check the
# executable's name before killing), and the tokens of the last run: start from fresh tokens so a
# locked PIN or leftover objects of one run cannot fail the next.
if [ "$own_emu" = 0 ]; then
    stop_stacks
    rm -rf -- "$EMU/run" "$EMU/softhsm" "$EMU/softhsm-b" "$EMU/p11kit" "$EMU/p11proxy" "$EMU/tpm" "$LOGS"
    mkdir -p "$LOGS"
fi

failed_why= failed_log=
# step NAME CMD...: runs CMD with its output in $LOGS/NAME.log; on failure sets failed_why to the
# last line it printed (the scripts end with the reason) and returns 1. Sets step_s (seconds).
step() {
    local name=$1 t0 rc=0
    shift
    t0=$(date +%s.%N)
    "$@" > "$LOGS/$name.log" 2>&1 || rc=$?
    step_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" != 0 ]; then
        failed_why="$name failed (exit $rc): $(grep -v '^[[:space:]]*$' "$LOGS/$name.log" | tail -1)"
        failed_log=$LOGS/$name.log
        return 1
    fi
}
# unavailable STACK VAR: one line saying which stack and why. The reason also goes to VAR, so the
# skipped tests can name it. With REQUIRED, the failed step's log follows (a temporary EMU is gone
# after exit) and the run fails.
unavailable() {
    if [ "$REQUIRED" = 1 ]; then
        note "$1 stack unavailable (HSM_BENCH_EMU_REQUIRED=1, failing): $failed_why"
        if [ -n "$failed_log" ]; then note "last lines of $failed_log:"; tail -n 25 "$failed_log" >&2 || true; fi
        exit 1
    fi
    note "$1 stack unavailable, its tests will be skipped: $failed_why"
    export "$2=$failed_why"
    failed_why= failed_log=
}

start_pico() {
    # Checked first so that a machine without CAP_SYS_ADMIN does not build the emulator for nothing.
    if ! unshare -n true 2>/dev/null; then
        failed_why="unshare -n failed: needs root with CAP_SYS_ADMIN (in Docker: --privileged)"; return 1
    fi
    local times=""
    step pico-build "$S/pico-hsm-build.sh" || return 1
    if grep -q '^up to date' "$LOGS/pico-build.log"; then times="build cached"; else times="build ${step_s} s"; fi
    step pico-up "$S/pico-hsm-up.sh" "$PICO_TOKENS" || return 1
    times+=", start ${step_s} s"
    step pico-keys "$S/pico-hsm-init-keys.sh" || return 1
    times+=", keys ${step_s} s"
    # init-keys ends with the slot list: make sure every token made it (an emulator may have died).
    local n
    n=$(grep -c 'label "Pico-HSM (UserPIN)"' "$LOGS/pico-keys.log" || true)
    [ "$n" = "$PICO_TOKENS" ] || { failed_why="expected $PICO_TOKENS pico tokens, init-keys listed $n"; return 1; }
    note "pico-hsm up: $PICO_TOKENS tokens ($times)"
}

# CardContact's own module for the SmartCard-HSM, on the same emulated tokens (needs pico up): the module
# that signs on several cards at once, as the founding experiment's cluster did.
start_schsm() {
    step schsm-build "$S/sc-hsm-embedded-build.sh" || return 1
    local times
    if grep -q '^up to date' "$LOGS/schsm-build.log"; then times="build cached"; else times="build ${step_s} s"; fi
    SCHSM_MODULE=$EMU/sc-hsm-embedded/lib/libsc-hsm-pkcs11.so
    [ -f "$SCHSM_MODULE" ] || { failed_why="the build left no $SCHSM_MODULE"; return 1; }
    local n
    n=$(pkcs11-tool --module "$SCHSM_MODULE" -L 2>&1 | grep -c 'token label *: *Pico-HSM' || true)
    [ "$n" = "$PICO_TOKENS" ] || { failed_why="sc-hsm-embedded lists $n of the $PICO_TOKENS pico tokens"; return 1; }
    note "sc-hsm-embedded up: $n tokens ($times)"
}

# A software TPM through tpm2-pkcs11: swtpm + tpm2-abrmd in a network namespace, a private D-Bus.
start_tpm() {
    step tpm-up env TPM_PIN="$PIN" TPM_SO_PIN="$SO_PIN" bash "$ROOT/test/emu/tpm-up.sh" || return 1
    note "tpm up: token tpm0 (start ${step_s} s)"
}

start_p11kit() {
    # p11kit-proxy-run.sh needs a mount namespace: checked first, as for pico.
    if ! unshare -m true 2>/dev/null; then
        failed_why="unshare -m failed: p11kit-proxy-run.sh needs root with CAP_SYS_ADMIN (in Docker: --privileged)"; return 1
    fi
    step softhsm-setup "$S/softhsm-setup.sh" "$SHSM_TOKENS" || return 1
    local times="tokens ${step_s} s"
    step p11kit-up "$S/p11kit-up.sh" || return 1
    times+=", server ${step_s} s"
    step p11kit-proxy-setup "$S/p11kit-proxy-setup.sh" || return 1
    times+=", proxy ${step_s} s"
    # The wrapper's bind mount can still fail (e.g. no /usr/share/p11-kit/modules): find out now
    # rather than in every test.
    step p11kit-proxy-check "$S/p11kit-proxy-run.sh" true || return 1
    note "p11-kit up: shsm0..shsm$((SHSM_TOKENS - 1)) via server + proxy host A, hostb0 via proxy host B ($times)"
}

# Descriptions of a stack exist only when it is up (HSM_BENCH_TEST_EMU with either), so that the
# tests' helper can tell "not started" from a broken environment.
if start_pico; then
    export HSM_BENCH_TEST_EMU=$EMU
    export HSM_BENCH_TEST_PICO_MODULE=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
    export HSM_BENCH_TEST_PICO_TOKENS=$PICO_TOKENS
    export HSM_BENCH_TEST_PICO_PIN=$PIN
    export HSM_BENCH_TEST_PICO_REPLUG=$S/pico-hsm-replug.sh
else
    "$S/pico-hsm-down.sh" >> "$LOGS/down.log" 2>&1 || true
    unavailable pico-hsm HSM_BENCH_TEST_PICO_UNAVAILABLE
fi

if [ -n "${HSM_BENCH_TEST_PICO_MODULE:-}" ] && start_schsm; then
    export HSM_BENCH_TEST_SCHSM_MODULE=$SCHSM_MODULE
elif [ -z "${HSM_BENCH_TEST_PICO_MODULE:-}" ]; then
    failed_why="the pico-hsm stack it reaches is not up"
    unavailable sc-hsm-embedded HSM_BENCH_TEST_SCHSM_UNAVAILABLE
else
    unavailable sc-hsm-embedded HSM_BENCH_TEST_SCHSM_UNAVAILABLE
fi

if start_tpm; then
    export HSM_BENCH_TEST_EMU=$EMU
    export HSM_BENCH_TEST_TPM_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so
    export HSM_BENCH_TEST_TPM_PIN=$PIN
    # What a client needs to reach the TPM (TPM2_PKCS11_*, the private D-Bus): given per test, not set here.
    HSM_BENCH_TEST_TPM_ENV=$(bash "$ROOT/test/emu/tpm-up.sh" --env | sed 's/^export //' | paste -sd' ')
    export HSM_BENCH_TEST_TPM_ENV
else
    bash "$ROOT/test/emu/tpm-down.sh" >> "$LOGS/down.log" 2>&1 || true
    unavailable tpm HSM_BENCH_TEST_TPM_UNAVAILABLE
fi

if start_p11kit; then
    export HSM_BENCH_TEST_EMU=$EMU
    export HSM_BENCH_TEST_P11KIT_CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
    # Not P11_KIT_SERVER_ADDRESS: set globally it would reroute every p11-kit-client.so user.
    export HSM_BENCH_TEST_P11KIT_ADDRESS=unix:path=$EMU/p11kit/pkcs11.sock
    export HSM_BENCH_TEST_P11KIT_PROXY=/usr/lib/x86_64-linux-gnu/p11-kit-proxy.so
    export HSM_BENCH_TEST_P11KIT_PROXY_RUN=$S/p11kit-proxy-run.sh
    export HSM_BENCH_TEST_SHSM_PIN=$PIN
    # Not SOFTHSM2_CONF: the other tests' embedded SoftHSM2 must keep its own.
    export HSM_BENCH_TEST_SHSM_CONF=$EMU/softhsm/softhsm2.conf
else
    "$S/p11kit-down.sh" >> "$LOGS/down.log" 2>&1 || true
    unavailable p11-kit HSM_BENCH_TEST_P11KIT_UNAVAILABLE
fi

# CMD runs in the background so that a signal to this script reaches its trap at once (bash runs
# traps only between commands) and is passed on to CMD; the stacks stop after CMD has ended. `<&0`
# keeps stdin, which `&` would otherwise replace by /dev/null.
set +e
"$@" <&0 &
child=$!
trap 'kill -INT "$child" 2>/dev/null' INT
trap 'kill -TERM "$child" 2>/dev/null' TERM
trap 'kill -HUP "$child" 2>/dev/null' HUP
# wait also returns (>128) when a trapped signal arrives: wait on until CMD itself has ended; a
# last wait then gives its status (bash keeps it for an already reaped child).
while kill -0 "$child" 2>/dev/null; do wait "$child"; done
wait "$child"
