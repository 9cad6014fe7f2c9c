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
 * token slow to give a session, as a smart card behind a busy reader is. $FAULTY_OPEN_DELAY_AFTER=K leaves the first
 * K such C_OpenSession calls (in this process) alone: a token that gives its sessions before the run, then stalls.
 * With $FAULTY_TOKEN_PARALLEL=K (and a sign delay), each token serves at most K delayed signatures at once; the others
 * wait their turn: a token with K engines (a network HSM's partition, a card with one), whose throughput stops
 * growing past K sessions.
 * Token refusals (what tpm2-pkcs11 and other real modules answer, on any token):
 * - $FAULTY_SIGN_CKR=0xHEX: the every-$FAULTY_EVERY-th C_Sign fails with that code instead of CKR_DEVICE_ERROR
 *   (e.g. a vendor code, 0x80000001).
 * - $FAULTY_HIDE_MECHANISMS=0xA,0xB: C_GetMechanismList leaves those mechanisms out and C_GetMechanismInfo answers
 *   CKR_MECHANISM_INVALID for them: a token without ECDH (0x1050) or HMAC.
 * - $FAULTY_REFUSE_ATTRIBUTE=0xTYPE=V: C_GenerateKeyPair fails when either template sets that CK_BBOOL attribute to V
 *   (0 or 1), with $FAULTY_REFUSE_CKR (default CKR_ATTRIBUTE_VALUE_INVALID); the same for every attribute of a
 *   comma-separated list (0x162=1,0x105=0).
 * - $FAULTY_GENERATE_CKR=0xHEX: every C_GenerateKeyPair fails with that code.
 * - $FAULTY_RO_CREATE=1: C_CreateObject in a read-only session fails with CKR_SESSION_READ_ONLY, even for a session
 *   object (tpm2-pkcs11 does so, although PKCS#11 lets read-only sessions create session objects).
 *
 * Faulty outputs and hangs (each counted in the C_Sign calls that produce a signature on the faulty slot, or on
 * every slot without $FAULTY_SLOT; the real C_Sign runs first each time):
 * With $FAULTY_SIGN_LENGTH=L, C_Sign returns CKR_OK but reports a signature of L bytes (0: an empty signature);
 * with $FAULTY_SIGN_LENGTH=+N it reports the size of the buffer it was given plus N (an over-report: only the length
 * is wrong, nothing is written past the buffer). $FAULTY_SIGN_LENGTH_AFTER=K leaves the first K calls alone.
 * With $FAULTY_SIGN_HANG_AFTER=K, every C_Sign after the first K never returns: a token that hangs forever.
 * With $FAULTY_PIN_FINAL_TRY_AFTER=N, once N signatures were counted (as for $FAULTY_PIN_CHANGE_AFTER; 0: from the
 * start), C_GetTokenInfo reports CKF_USER_PIN_FINAL_TRY on every token: the next wrong PIN would lock it. SoftHSM2
 * cannot be brought to that state on demand (it has no PIN counter).
 * With $FAULTY_SLOT_COUNT=N, C_GetSlotList asked for the count alone (no list) answers N, e.g. 2147483648, while
 * asked with a list it gives the real slots: a module that reports an impossible number of slots. With
 * $FAULTY_MECHANISM_COUNT=N, C_GetMechanismList does the same with a slot's mechanisms.
 *
 * The edges of a module's life (the block "Edges" below), as real vendor modules misbehave there:
 * With $FAULTY_NULL_FUNCTION_LIST=1, C_GetFunctionList returns CKR_OK and no function list (NULL).
 * With $FAULTY_INITIALIZE=hang or =crash, C_Initialize never returns, or raises SIGSEGV.
 * With $FAULTY_FINALIZE=hang or =crash, C_Finalize never returns, or raises SIGSEGV.
 * With $FAULTY_CRASH_AT_SIGN=N, the Nth C_Sign that makes a signature (in this process) raises $FAULTY_CRASH_SIGNAL
 * (a signal number, SIGSEGV by default) instead; with $FAULTY_CRASH_ONCE=FILE only while FILE does not exist (it is
 * created just before): a module that kills the process once, and works in the process started after.
 * With $FAULTY_CLOSE_CRASH_AFTER=K, every C_CloseSession after the first K (in this process) raises SIGSEGV: a module
 * that kills the process while a run closes its sessions, as it does when it stops.
 *
 * Spoiled read-backs (the block "Spoiled read-backs" below): with $FAULTY_SPOIL_READ_BACK_EVERY=N, every Nth
 * C_GetAttributeValue that reads the value of a session object's CKA_VALUE, CKA_EC_POINT or CKA_MODULUS alone (what
 * derive and keygen read back of what they made) answers CKR_OK with its last byte flipped: a token that returns a
 * wrong secret or public key, which only the host check can see. The token's own keys (token objects) are untouched.
 *
 * A cofactor ECDH (the block "Cofactor ECDH" below): with $FAULTY_ECDH_COFACTOR=1, C_GetMechanismList adds
 * CKM_ECDH1_COFACTOR_DERIVE (which SoftHSM2 2.6 does not list), C_GetMechanismInfo answers for it as for
 * CKM_ECDH1_DERIVE, and C_DeriveKey with it derives with CKM_ECDH1_DERIVE: the same secret on a curve of cofactor 1.
 *
 * Verifications (the block "Verifications" below): with $FAULTY_VERIFY_REJECT_AFTER=K, every C_Verify after the first K
 * (in this process) runs the real C_Verify, then answers CKR_SIGNATURE_INVALID whatever it said: a token that rejects
 * good signatures.
 *
 * Stalls (the block "Stalls" below): with $FAULTY_STALL_EVERY=N and $FAULTY_STALL_MS=D, the Nth, 2Nth, … C_Sign that
 * makes a signature (counted on the faulty slot, or on every slot without $FAULTY_SLOT) opens a stall of D ms: every
 * such C_Sign that starts before it ends sleeps until it ends, on every token at once (one token with $FAULTY_SLOT),
 * as the tokens of a cluster behind one hub or network link stop together.
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
static long open_delay_after;
static long opens;
static const char *login_log;
static long token_parallel;
static long final_try_after = -1;
static CK_ULONG reported_slot_count;
static CK_ULONG reported_mechanism_count;
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

static CK_RV sign_fault_ckr = CKR_DEVICE_ERROR;
/* ---- Faulty outputs and hangs ($FAULTY_SIGN_LENGTH, $FAULTY_SIGN_HANG_AFTER) ---- */
static const char *sign_length; /* "L" or "+N"; NULL: lengths as the real module reports them */
static long sign_length_after;
static long sign_hang_after = -1;
static long output_calls;

/** Whether the session is on the faulty slot (every session is, without $FAULTY_SLOT). */
static int on_faulty_slot(CK_SESSION_HANDLE s) {
  if (faulty_slot < 0) return 1;
  CK_SESSION_INFO info;
  return real->C_GetSessionInfo(s, &info) == CKR_OK && (long)info.slotID == faulty_slot;
}

/** After the real C_Sign: the length reported changed, or the call held forever, as the modes ask. */
static CK_RV fault_output(CK_SESSION_HANDLE s, CK_RV rv, CK_ULONG given, CK_ULONG_PTR sig_len) {
  if ((sign_length == NULL && sign_hang_after < 0) || !on_faulty_slot(s)) return rv;
  long call = __atomic_add_fetch(&output_calls, 1, __ATOMIC_SEQ_CST);
  if (sign_hang_after >= 0 && call > sign_hang_after) {
    for (;;) pause();
  }
  if (sign_length != NULL && rv == CKR_OK && call > sign_length_after) {
    *sig_len = sign_length[0] == '+' ? given + (CK_ULONG)atol(sign_length + 1) : (CK_ULONG)atol(sign_length);
  }
  return rv;
}

/* ---- Stalls ($FAULTY_STALL_EVERY, $FAULTY_STALL_MS): the tokens stop signing for a while, at the same moment ---- */
static long stall_every;
static long stall_ms;
static long stall_signs;
static long long stall_until_ns;

static long long monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

/** Before the real C_Sign: every Nth call opens a stall; a call that starts inside one sleeps until it ends. */
static void stall_if_due(CK_SESSION_HANDLE s) {
  if (stall_every <= 0 || !on_faulty_slot(s)) return;
  long long now = monotonic_ns();
  if (__atomic_add_fetch(&stall_signs, 1, __ATOMIC_SEQ_CST) % stall_every == 0) __atomic_store_n(&stall_until_ns, now + stall_ms * 1000000LL, __ATOMIC_SEQ_CST);
  long long until = __atomic_load_n(&stall_until_ns, __ATOMIC_SEQ_CST);
  if (until <= now) return;
  struct timespec end = {(time_t)(until / 1000000000LL), (long)(until % 1000000000LL)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &end, NULL) != 0) {
  }
}
/* ---- end of Stalls ---- */

static int pin_changed(void) { return pin_change_after > 0 && __atomic_load_n(&calls, __ATOMIC_SEQ_CST) >= pin_change_after; }

/* ---- Edges: a NULL function list, a hang or a crash in C_Initialize or C_Finalize, a crash at the Nth C_Sign or
 *      at a C_CloseSession ---- */

static const char *initialize_fault;
static const char *finalize_fault;
static long crash_at_sign;
static long crash_signal = SIGSEGV;
static const char *crash_once;
static long signs_made;
static long close_crash_after = -1;
static long closes;

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

static CK_RV edge_close_session(CK_SESSION_HANDLE s) {
  if (close_crash_after >= 0 && __atomic_add_fetch(&closes, 1, __ATOMIC_SEQ_CST) > close_crash_after) raise(SIGSEGV);
  return real->C_CloseSession(s);
}

/* ---- Spoiled read-backs ($FAULTY_SPOIL_READ_BACK_EVERY): a derived secret or generated public key that is wrong ---- */
static long spoil_every;
static long spoil_reads;

static CK_RV spoiling_get_attribute_value(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  CK_RV rv = real->C_GetAttributeValue(s, o, t, n);
  if (rv != CKR_OK || n != 1 || t[0].pValue == NULL || t[0].ulValueLen == 0 || t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION) return rv;
  if (t[0].type != CKA_VALUE && t[0].type != CKA_EC_POINT && t[0].type != CKA_MODULUS) return rv;
  CK_BBOOL on_token = CK_TRUE;
  CK_ATTRIBUTE token = {CKA_TOKEN, &on_token, sizeof on_token};
  if (real->C_GetAttributeValue(s, o, &token, 1) != CKR_OK || on_token) return rv;
  if (__atomic_add_fetch(&spoil_reads, 1, __ATOMIC_SEQ_CST) % spoil_every == 0) ((CK_BYTE_PTR)t[0].pValue)[t[0].ulValueLen - 1] ^= 0x01;
  return rv;
}

static void spoil_setup(CK_FUNCTION_LIST *list) {
  spoil_every = getenv("FAULTY_SPOIL_READ_BACK_EVERY") ? atol(getenv("FAULTY_SPOIL_READ_BACK_EVERY")) : 0;
  if (spoil_every > 0) list->C_GetAttributeValue = spoiling_get_attribute_value;
}
/* ---- end of Spoiled read-backs ---- */

static void edge_setup(CK_FUNCTION_LIST *list) {
  initialize_fault = getenv("FAULTY_INITIALIZE");
  finalize_fault = getenv("FAULTY_FINALIZE");
  crash_at_sign = getenv("FAULTY_CRASH_AT_SIGN") ? atol(getenv("FAULTY_CRASH_AT_SIGN")) : 0;
  if (getenv("FAULTY_CRASH_SIGNAL")) crash_signal = atol(getenv("FAULTY_CRASH_SIGNAL"));
  crash_once = getenv("FAULTY_CRASH_ONCE");
  close_crash_after = getenv("FAULTY_CLOSE_CRASH_AFTER") ? atol(getenv("FAULTY_CLOSE_CRASH_AFTER")) : -1;
  list->C_Initialize = edge_initialize;
  list->C_CloseSession = edge_close_session;
  list->C_Finalize = edge_finalize;
}

/* ---- end of Edges ---- */

static CK_RV faulty_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
  if (sig != NULL) crash_if_due();
  if (sig != NULL && sign_delay_ms > 0) serve_delay(s);
  if (sig != NULL) stall_if_due(s);
  CK_ULONG given = *sig_len;
  CK_RV rv = real->C_Sign(s, data, len, sig, sig_len);
  if (sig != NULL) rv = fault_output(s, rv, given, sig_len);
  if (pin_changed()) return CKR_DEVICE_REMOVED;
  if (faulty_slot >= 0) {
    CK_SESSION_INFO info;
    if (real->C_GetSessionInfo(s, &info) != CKR_OK || (long)info.slotID != faulty_slot) return rv;
  }
  if (sig != NULL && __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) % every == 0) return sign_fault_ckr;
  return rv;
}

static CK_RV faulty_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR session) {
  if (open_delay_ms > 0 && (faulty_slot < 0 || (long)slot == faulty_slot) && __atomic_add_fetch(&opens, 1, __ATOMIC_SEQ_CST) > open_delay_after) {
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

/* ---- $FAULTY_PIN_FINAL_TRY_AFTER: a token whose next wrong PIN locks it ---- */
static CK_RV faulty_get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  CK_RV rv = real->C_GetTokenInfo(slot, info);
  if (rv == CKR_OK && final_try_after >= 0 && __atomic_load_n(&calls, __ATOMIC_SEQ_CST) >= final_try_after) info->flags |= CKF_USER_PIN_FINAL_TRY;
  return rv;
}

/* ---- $FAULTY_SLOT_COUNT, $FAULTY_MECHANISM_COUNT: a module that reports impossible list sizes ---- */
static CK_RV faulty_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  if (list == NULL_PTR && count != NULL_PTR) {
    *count = reported_slot_count;
    return CKR_OK;
  }
  return real->C_GetSlotList(present, list, count);
}

static CK_RV faulty_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  if (list == NULL_PTR && count != NULL_PTR) {
    *count = reported_mechanism_count;
    return CKR_OK;
  }
  return real->C_GetMechanismList(slot, list, count);
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

/* ---- Token refusals: $FAULTY_SIGN_CKR, $FAULTY_HIDE_MECHANISMS, $FAULTY_REFUSE_ATTRIBUTE, $FAULTY_GENERATE_CKR,
 *      $FAULTY_RO_CREATE (see the header). ---- */
#define MAX_LISTED 16
static CK_MECHANISM_TYPE hidden[MAX_LISTED];
static int hidden_count;
static CK_ATTRIBUTE_TYPE refused_type[MAX_LISTED];
static CK_BBOOL refused_value[MAX_LISTED];
static int refused_count;
static CK_RV refuse_ckr = CKR_ATTRIBUTE_VALUE_INVALID;
static CK_RV generate_ckr = CKR_OK;
static int ro_create;

static int is_hidden(CK_MECHANISM_TYPE m) {
  for (int i = 0; i < hidden_count; i++)
    if (hidden[i] == m) return 1;
  return 0;
}

static CK_RV refusing_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  CK_MECHANISM_TYPE all[512];
  CK_ULONG n = 512;
  CK_RV rv = real->C_GetMechanismList(slot, all, &n);
  if (rv != CKR_OK) return rv;
  CK_ULONG kept = 0;
  for (CK_ULONG i = 0; i < n; i++) {
    if (is_hidden(all[i])) continue;
    if (list != NULL && kept < *count) list[kept] = all[i];
    kept++;
  }
  CK_RV out = list != NULL && kept > *count ? CKR_BUFFER_TOO_SMALL : CKR_OK;
  *count = kept;
  return out;
}

static CK_RV refusing_get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO_PTR info) {
  return is_hidden(m) ? CKR_MECHANISM_INVALID : real->C_GetMechanismInfo(slot, m, info);
}

static int refuses(CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  for (CK_ULONG i = 0; i < n; i++)
    for (int r = 0; r < refused_count; r++)
      if (t[i].type == refused_type[r] && t[i].ulValueLen == 1 && *(CK_BBOOL *)t[i].pValue == refused_value[r]) return 1;
  return 0;
}

static CK_RV refusing_generate_key_pair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pub, CK_ULONG pub_n, CK_ATTRIBUTE_PTR priv,
                                        CK_ULONG priv_n, CK_OBJECT_HANDLE_PTR pub_key, CK_OBJECT_HANDLE_PTR priv_key) {
  if (generate_ckr != CKR_OK) return generate_ckr;
  if (refuses(pub, pub_n) || refuses(priv, priv_n)) return refuse_ckr;
  return real->C_GenerateKeyPair(s, m, pub, pub_n, priv, priv_n, pub_key, priv_key);
}

static CK_RV refusing_create_object(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR object) {
  CK_SESSION_INFO info;
  if (ro_create && real->C_GetSessionInfo(s, &info) == CKR_OK && (info.flags & CKF_RW_SESSION) == 0) return CKR_SESSION_READ_ONLY;
  return real->C_CreateObject(s, t, n, object);
}

static void install_refusals(void) {
  const char *v;
  if ((v = getenv("FAULTY_SIGN_CKR"))) sign_fault_ckr = strtoul(v, NULL, 0);
  if ((v = getenv("FAULTY_REFUSE_CKR"))) refuse_ckr = strtoul(v, NULL, 0);
  if ((v = getenv("FAULTY_GENERATE_CKR"))) generate_ckr = strtoul(v, NULL, 0);
  ro_create = getenv("FAULTY_RO_CREATE") != NULL;
  for (const char *p = getenv("FAULTY_HIDE_MECHANISMS"); p && *p && hidden_count < MAX_LISTED;) {
    char *end;
    hidden[hidden_count++] = strtoul(p, &end, 0);
    p = *end == ',' ? end + 1 : end + strlen(end);
  }
  for (const char *p = getenv("FAULTY_REFUSE_ATTRIBUTE"); p && *p && refused_count < MAX_LISTED;) {
    char *end;
    refused_type[refused_count] = strtoul(p, &end, 0);
    refused_value[refused_count] = *end == '=' ? (CK_BBOOL)strtoul(end + 1, &end, 0) : CK_TRUE;
    refused_count++;
    p = *end == ',' ? end + 1 : end + strlen(end);
  }
  wrapped.C_GetMechanismList = refusing_get_mechanism_list;
  wrapped.C_GetMechanismInfo = refusing_get_mechanism_info;
  wrapped.C_GenerateKeyPair = refusing_generate_key_pair;
  wrapped.C_CreateObject = refusing_create_object;
}
/* ---- end of token refusals ---- */

/* ---- Verifications: a token that rejects good signatures ---- */
static long verify_reject_after = -1;
static long verify_calls;

static CK_RV rejecting_verify(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG sig_len) {
  CK_RV rv = real->C_Verify(s, data, len, sig, sig_len);
  return __atomic_add_fetch(&verify_calls, 1, __ATOMIC_SEQ_CST) > verify_reject_after ? CKR_SIGNATURE_INVALID : rv;
}

static void install_verifications(void) {
  verify_reject_after = getenv("FAULTY_VERIFY_REJECT_AFTER") ? atol(getenv("FAULTY_VERIFY_REJECT_AFTER")) : -1;
  if (verify_reject_after >= 0) wrapped.C_Verify = rejecting_verify;
}
/* ---- end of verifications ---- */

/* ---- Cofactor ECDH ($FAULTY_ECDH_COFACTOR): a token that lists CKM_ECDH1_COFACTOR_DERIVE ---- */
static CK_RV (*listed_mechanisms)(CK_SLOT_ID, CK_MECHANISM_TYPE_PTR, CK_ULONG_PTR);
static CK_RV (*listed_mechanism_info)(CK_SLOT_ID, CK_MECHANISM_TYPE, CK_MECHANISM_INFO_PTR);

static CK_RV cofactor_get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count) {
  CK_ULONG n = 0;
  CK_RV rv = listed_mechanisms(slot, NULL_PTR, &n);
  if (rv != CKR_OK || count == NULL_PTR) return rv;
  if (list == NULL_PTR || *count < n + 1) {
    CK_RV out = list == NULL_PTR ? CKR_OK : CKR_BUFFER_TOO_SMALL;
    *count = n + 1;
    return out;
  }
  rv = listed_mechanisms(slot, list, &n);
  if (rv != CKR_OK) return rv;
  list[n] = CKM_ECDH1_COFACTOR_DERIVE;
  *count = n + 1;
  return CKR_OK;
}

static CK_RV cofactor_get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO_PTR info) {
  return listed_mechanism_info(slot, m == CKM_ECDH1_COFACTOR_DERIVE ? CKM_ECDH1_DERIVE : m, info);
}

static CK_RV cofactor_derive_key(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE base, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR key) {
  if (m == NULL_PTR || m->mechanism != CKM_ECDH1_COFACTOR_DERIVE) return real->C_DeriveKey(s, m, base, t, n, key);
  CK_MECHANISM plain = *m;
  plain.mechanism = CKM_ECDH1_DERIVE;
  return real->C_DeriveKey(s, &plain, base, t, n, key);
}

static void cofactor_setup(CK_FUNCTION_LIST *list) {
  if (getenv("FAULTY_ECDH_COFACTOR") == NULL) return;
  listed_mechanisms = list->C_GetMechanismList;
  listed_mechanism_info = list->C_GetMechanismInfo;
  list->C_GetMechanismList = cofactor_get_mechanism_list;
  list->C_GetMechanismInfo = cofactor_get_mechanism_info;
  list->C_DeriveKey = cofactor_derive_key;
}
/* ---- end of Cofactor ECDH ---- */

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
    open_delay_after = getenv("FAULTY_OPEN_DELAY_AFTER") ? atol(getenv("FAULTY_OPEN_DELAY_AFTER")) : 0;
    token_parallel = getenv("FAULTY_TOKEN_PARALLEL") ? atol(getenv("FAULTY_TOKEN_PARALLEL")) : 0;
    sign_length = getenv("FAULTY_SIGN_LENGTH");
    sign_length_after = getenv("FAULTY_SIGN_LENGTH_AFTER") ? atol(getenv("FAULTY_SIGN_LENGTH_AFTER")) : 0;
    sign_hang_after = getenv("FAULTY_SIGN_HANG_AFTER") ? atol(getenv("FAULTY_SIGN_HANG_AFTER")) : -1;
    wrapped = *real;
    wrapped.C_Sign = faulty_sign;
    wrapped.C_GetSessionInfo = faulty_get_session_info;
    wrapped.C_Login = faulty_login;
    wrapped.C_OpenSession = faulty_open_session;
    install_refusals();
    final_try_after = getenv("FAULTY_PIN_FINAL_TRY_AFTER") ? atol(getenv("FAULTY_PIN_FINAL_TRY_AFTER")) : -1;
    if (final_try_after >= 0) wrapped.C_GetTokenInfo = faulty_get_token_info;
    reported_slot_count = getenv("FAULTY_SLOT_COUNT") ? strtoul(getenv("FAULTY_SLOT_COUNT"), NULL, 10) : 0;
    if (reported_slot_count > 0) wrapped.C_GetSlotList = faulty_get_slot_list;
    reported_mechanism_count = getenv("FAULTY_MECHANISM_COUNT") ? strtoul(getenv("FAULTY_MECHANISM_COUNT"), NULL, 10) : 0;
    if (reported_mechanism_count > 0) wrapped.C_GetMechanismList = faulty_get_mechanism_list;
    edge_setup(&wrapped);
    spoil_setup(&wrapped);
    install_verifications();
    cofactor_setup(&wrapped);
    stall_every = getenv("FAULTY_STALL_EVERY") ? atol(getenv("FAULTY_STALL_EVERY")) : 0;
    stall_ms = getenv("FAULTY_STALL_MS") ? atol(getenv("FAULTY_STALL_MS")) : 1000;
  }
  *list = &wrapped;
  return CKR_OK;
}
