/*
 * A null-speed token for measuring the harness's own ceiling: a PKCS#11 module that forwards every call to a real
 * module ($NULL_SPEED_PKCS11_MODULE), except that C_SignInit and C_Sign return at once, CKR_OK, with a signature of
 * $NULL_SPEED_SIGNATURE_BYTES bytes (default 64, an ECDSA signature on a 256-bit curve) that signs nothing. Against
 * such a token, whatever a loop measures is the loop itself.
 *
 * The first $NULL_SPEED_REAL_SIGNS C_SignInit + C_Sign pairs of the process (default 0) go to the real module: a
 * harness's trial call before its run checks its signature on the host, and the dummy one would fail it. Set it to
 * the number of tokens (one trial call each) and measure with no warm-up, and without checking (hsm-bench
 * --verify none, which says the signatures were not checked).
 *
 * build: gcc -shared -fPIC -O2 -o null-speed-pkcs11.so null-speed-pkcs11.c -I node_modules/pkcs11js/includes/pkcs11 -ldl -lpthread
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType(*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType(*name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"

/** Sessions that may have a real signing operation pending at once (the trial calls come one at a time). */
#define MAX_REAL_PENDING 64

static CK_FUNCTION_LIST_PTR real;
static CK_FUNCTION_LIST wrapped;
static CK_ULONG signature_bytes = 64;
static long real_signs;
/* Set once every real sign has been made and answered: the fast path reads only this, so sessions share no written line. */
static int all_null;
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static long real_inits;
static CK_SESSION_HANDLE pending[MAX_REAL_PENDING];
static int pending_count;

static int take_pending(CK_SESSION_HANDLE s, int remove) {
  for (int i = 0; i < pending_count; i++) {
    if (pending[i] != s) continue;
    if (remove) pending[i] = pending[--pending_count];
    return 1;
  }
  return 0;
}

static CK_RV null_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mechanism, CK_OBJECT_HANDLE key) {
  if (__atomic_load_n(&all_null, __ATOMIC_ACQUIRE)) return CKR_OK;
  pthread_mutex_lock(&mutex);
  int forward = real_inits < real_signs && pending_count < MAX_REAL_PENDING;
  if (forward) {
    real_inits++;
    pending[pending_count++] = s;
  }
  pthread_mutex_unlock(&mutex);
  if (!forward) return CKR_OK;
  CK_RV rv = real->C_SignInit(s, mechanism, key);
  if (rv != CKR_OK) {
    /* Refused: no operation pending, and the real sign is left for the next pair. */
    pthread_mutex_lock(&mutex);
    take_pending(s, 1);
    real_inits--;
    pthread_mutex_unlock(&mutex);
  }
  return rv;
}

static CK_RV null_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG data_len, CK_BYTE_PTR signature, CK_ULONG_PTR signature_len) {
  if (!__atomic_load_n(&all_null, __ATOMIC_ACQUIRE)) {
    pthread_mutex_lock(&mutex);
    int forward = take_pending(s, 0);
    pthread_mutex_unlock(&mutex);
    if (forward) {
      CK_RV rv = real->C_Sign(s, data, data_len, signature, signature_len);
      /* A length query (or a buffer too small) leaves the operation active, as the standard says. */
      if (signature != NULL && rv != CKR_BUFFER_TOO_SMALL) {
        pthread_mutex_lock(&mutex);
        take_pending(s, 1);
        if (real_inits == real_signs && pending_count == 0) __atomic_store_n(&all_null, 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&mutex);
      }
      return rv;
    }
  }
  if (signature == NULL) {
    *signature_len = signature_bytes;
    return CKR_OK;
  }
  if (*signature_len < signature_bytes) {
    *signature_len = signature_bytes;
    return CKR_BUFFER_TOO_SMALL;
  }
  memset(signature, 0x5a, signature_bytes);
  *signature_len = signature_bytes;
  return CKR_OK;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
  if (real == NULL) {
    const char *path = getenv("NULL_SPEED_PKCS11_MODULE");
    void *lib = path ? dlopen(path, RTLD_NOW) : NULL;
    CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
    if (get == NULL || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
    if (getenv("NULL_SPEED_SIGNATURE_BYTES")) signature_bytes = strtoul(getenv("NULL_SPEED_SIGNATURE_BYTES"), NULL, 10);
    real_signs = getenv("NULL_SPEED_REAL_SIGNS") ? atol(getenv("NULL_SPEED_REAL_SIGNS")) : 0;
    all_null = real_signs <= 0;
    wrapped = *real;
    wrapped.C_SignInit = null_sign_init;
    wrapped.C_Sign = null_sign;
  }
  *list = &wrapped;
  return CKR_OK;
}
