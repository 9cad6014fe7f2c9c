/*
 * A fault injector for tests: a PKCS#11 module that forwards every call to a real module ($FAULTY_PKCS11_MODULE)
 * except that every $FAULTY_EVERY-th C_Sign returns CKR_DEVICE_ERROR — a fault a real token cannot be made to
 * produce on demand. The real C_Sign still runs first, so the token's own state stays consistent.
 * With $FAULTY_SIGN_DELAY_MS=D, every C_Sign first sleeps D ms (sleeping, not spinning): a slow token, such as a
 * smart card, made of a fast one, so that many sessions can be driven without the host's CPU being the limit.
 * With $FAULTY_PIN_CHANGE_AFTER=N, after N signatures every token acts as if it had been re-plugged with another
 * PIN: C_Sign fails with CKR_DEVICE_REMOVED, sessions are no longer logged in, and C_Login fails with
 * CKR_PIN_INCORRECT, each such C_Login appending a line to $FAULTY_LOGIN_LOG.
 * With $FAULTY_SLOT=S, the faults (every $FAULTY_EVERY-th signature) hit only the token in slot S: one bad token
 * among good ones (FAULTY_EVERY=1 makes it fail every signature, a token that is lost).
 * With $FAULTY_OPEN_DELAY_MS=D, C_OpenSession on that slot (on every slot without $FAULTY_SLOT) first sleeps D ms: a
 * token slow to give a session, as a smart card behind a busy reader is.
 * With $FAULTY_TOKEN_PARALLEL=K (and a sign delay), each token serves at most K delayed signatures at once; the others
 * wait their turn: a token with K engines (a network HSM's partition, a card with one), whose throughput stops
 * growing past K sessions.
 *
 * The edges of a module's life (the block "Edges" below), as real vendor modules misbehave there:
 * With $FAULTY_NULL_FUNCTION_LIST=1, C_GetFunctionList returns CKR_OK and no function list (NULL).
 * With $FAULTY_INITIALIZE=hang or =crash, C_Initialize never returns, or raises SIGSEGV.
 * With $FAULTY_FINALIZE=hang or =crash, C_Finalize never returns, or raises SIGSEGV.
 * With $FAULTY_CRASH_AT_SIGN=N, the Nth C_Sign that makes a signature (in this process) raises $FAULTY_CRASH_SIGNAL
 * (a signal number, SIGSEGV by default) instead; with $FAULTY_CRASH_ONCE=FILE only while FILE does not exist (it is
 * created just before): a module that kills the process once, and works in the process started after.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType(*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType(*name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"

static CK_FUNCTION_LIST_PTR real;
static CK_FUNCTION_LIST wrapped;
static long every;
static long calls;
static long pin_change_after;
static long sign_delay_ms;
static long faulty_slot = -1;
static long open_delay_ms;
static const char *login_log;
static long token_parallel;
/* Per slot (slots are small integers in the modules tested), how many delayed signatures are being served. */
#define MAX_SLOTS 64
static long serving[MAX_SLOTS];
static pthread_mutex_t serving_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t serving_changed = PTHREAD_COND_INITIALIZER;

/** The token's slot, as an index into serving (-1 when it cannot be told). */
static long slot_of(CK_SESSION_HANDLE s) {
  CK_SESSION_INFO info;
  if (real->C_GetSessionInfo(s, &info) != CKR_OK) return -1;
  return (long)(info.slotID % MAX_SLOTS);
}

/** Holds the calling thread for the sign delay, at most token_parallel at once per slot. */
static void serve_delay(CK_SESSION_HANDLE s) {
  struct timespec delay = {sign_delay_ms / 1000, (sign_delay_ms % 1000) * 1000000L};
  long slot = token_parallel > 0 ? slot_of(s) : -1;
  if (slot >= 0) {
    pthread_mutex_lock(&serving_lock);
    while (serving[slot] >= token_parallel) pthread_cond_wait(&serving_changed, &serving_lock);
    serving[slot]++;
    pthread_mutex_unlock(&serving_lock);
  }
  nanosleep(&delay, NULL);
  if (slot >= 0) {
    pthread_mutex_lock(&serving_lock);
    serving[slot]--;
    pthread_cond_broadcast(&serving_changed);
    pthread_mutex_unlock(&serving_lock);
  }
}

static int pin_changed(void) { return pin_change_after > 0 && __atomic_load_n(&calls, __ATOMIC_SEQ_CST) >= pin_change_after; }

/* ---- Edges: a NULL function list, a hang or a crash in C_Initialize or C_Finalize, a crash at the Nth C_Sign ---- */

static const char *initialize_fault;
static const char *finalize_fault;
static long crash_at_sign;
static long crash_signal = SIGSEGV;
static const char *crash_once;
static long signs_made;

/** Acts out `fault` ("hang": never returns; "crash": SIGSEGV); anything else returns. */
static void edge_fault(const char *fault) {
  if (fault == NULL) return;
  if (strcmp(fault, "crash") == 0) raise(SIGSEGV);
  if (strcmp(fault, "hang") == 0)
    for (;;) pause();
}

/** At the Nth signature, the process is killed by crash_signal (once only, with a marker file). */
static void crash_if_due(void) {
  if (crash_at_sign <= 0 || __atomic_add_fetch(&signs_made, 1, __ATOMIC_SEQ_CST) != crash_at_sign) return;
  if (crash_once != NULL) {
    if (access(crash_once, F_OK) == 0) return;
    FILE *marker = fopen(crash_once, "w");
    if (marker) fclose(marker);
  }
  raise((int)crash_signal);
}

static CK_RV edge_initialize(CK_VOID_PTR args) {
  edge_fault(initialize_fault);
  return real->C_Initialize(args);
}

static CK_RV edge_finalize(CK_VOID_PTR reserved) {
  edge_fault(finalize_fault);
  return real->C_Finalize(reserved);
}

static void edge_setup(CK_FUNCTION_LIST *list) {
  initialize_fault = getenv("FAULTY_INITIALIZE");
  finalize_fault = getenv("FAULTY_FINALIZE");
  crash_at_sign = getenv("FAULTY_CRASH_AT_SIGN") ? atol(getenv("FAULTY_CRASH_AT_SIGN")) : 0;
  if (getenv("FAULTY_CRASH_SIGNAL")) crash_signal = atol(getenv("FAULTY_CRASH_SIGNAL"));
  crash_once = getenv("FAULTY_CRASH_ONCE");
  list->C_Initialize = edge_initialize;
  list->C_Finalize = edge_finalize;
}

/* ---- end of Edges ---- */

static CK_RV faulty_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
  if (sig != NULL) crash_if_due();
  if (sig != NULL && sign_delay_ms > 0) serve_delay(s);
  CK_RV rv = real->C_Sign(s, data, len, sig, sig_len);
  if (pin_changed()) return CKR_DEVICE_REMOVED;
  if (faulty_slot >= 0) {
    CK_SESSION_INFO info;
    if (real->C_GetSessionInfo(s, &info) != CKR_OK || (long)info.slotID != faulty_slot) return rv;
  }
  if (sig != NULL && __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) % every == 0) return CKR_DEVICE_ERROR;
  return rv;
}

static CK_RV faulty_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR session) {
  if (open_delay_ms > 0 && (faulty_slot < 0 || (long)slot == faulty_slot)) {
    struct timespec delay = {open_delay_ms / 1000, (open_delay_ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);
  }
  return real->C_OpenSession(slot, flags, app, notify, session);
}

static CK_RV faulty_get_session_info(CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR info) {
  CK_RV rv = real->C_GetSessionInfo(s, info);
  if (rv == CKR_OK && pin_changed()) info->state = CKS_RO_PUBLIC_SESSION;
  return rv;
}

static CK_RV faulty_login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  if (!pin_changed()) return real->C_Login(s, user, pin, len);
  FILE *log = login_log ? fopen(login_log, "a") : NULL;
  if (log) {
    fputs("C_Login\n", log);
    fclose(log);
  }
  return CKR_PIN_INCORRECT;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
  if (getenv("FAULTY_NULL_FUNCTION_LIST")) {
    *list = NULL;
    return CKR_OK;
  }
  if (real == NULL) {
    const char *path = getenv("FAULTY_PKCS11_MODULE");
    void *lib = path ? dlopen(path, RTLD_NOW) : NULL;
    CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
    if (get == NULL || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
    every = getenv("FAULTY_EVERY") ? atol(getenv("FAULTY_EVERY")) : 100;
    if (every < 1) every = 1;
    pin_change_after = getenv("FAULTY_PIN_CHANGE_AFTER") ? atol(getenv("FAULTY_PIN_CHANGE_AFTER")) : 0;
    login_log = getenv("FAULTY_LOGIN_LOG");
    sign_delay_ms = getenv("FAULTY_SIGN_DELAY_MS") ? atol(getenv("FAULTY_SIGN_DELAY_MS")) : 0;
    faulty_slot = getenv("FAULTY_SLOT") ? atol(getenv("FAULTY_SLOT")) : -1;
    open_delay_ms = getenv("FAULTY_OPEN_DELAY_MS") ? atol(getenv("FAULTY_OPEN_DELAY_MS")) : 0;
    token_parallel = getenv("FAULTY_TOKEN_PARALLEL") ? atol(getenv("FAULTY_TOKEN_PARALLEL")) : 0;
    wrapped = *real;
    wrapped.C_Sign = faulty_sign;
    wrapped.C_GetSessionInfo = faulty_get_session_info;
    wrapped.C_Login = faulty_login;
    wrapped.C_OpenSession = faulty_open_session;
    edge_setup(&wrapped);
  }
  *list = &wrapped;
  return CKR_OK;
}
