/*
 * A fault injector for tests: a PKCS#11 module that forwards every call to a real module ($FAULTY_PKCS11_MODULE)
 * except that every $FAULTY_EVERY-th C_Sign returns CKR_DEVICE_ERROR — a fault a real token cannot be made to
 * produce on demand. The real C_Sign still runs first, so the token's own state stays consistent.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

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

static CK_RV faulty_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
  CK_RV rv = real->C_Sign(s, data, len, sig, sig_len);
  if (sig != NULL && __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST) % every == 0) return CKR_DEVICE_ERROR;
  return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
  if (real == NULL) {
    const char *path = getenv("FAULTY_PKCS11_MODULE");
    void *lib = path ? dlopen(path, RTLD_NOW) : NULL;
    CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
    if (get == NULL || get(&real) != CKR_OK) return CKR_GENERAL_ERROR;
    every = getenv("FAULTY_EVERY") ? atol(getenv("FAULTY_EVERY")) : 100;
    if (every < 1) every = 1;
    wrapped = *real;
    wrapped.C_Sign = faulty_sign;
  }
  *list = &wrapped;
  return CKR_OK;
}
