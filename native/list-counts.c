/*
 * How many slots, or mechanisms of a slot, a module says it has, asked the way PKCS#11 asks it (the list call
 * with no list), before pkcs11js asks again: pkcs11js allocates as many entries as the module answers, so a module
 * that answers 2^31 would have hsm-bench allocate 16 GiB, or crash, instead of saying what the module did.
 *
 * The module is the instance the JS side loaded and initialized: dlopen of the same file (RTLD_NOLOAD: only if it
 * is loaded already) returns the same library. A module whose every C_GetFunctionList is a new, uninitialized
 * instance (p11-kit's client and proxy) answers CKR_CRYPTOKI_NOT_INITIALIZED; that instance is initialized here,
 * asked, and finalized.
 *
 * It reports `abi`, the digest of the native sources it was built from (native/abi.json): the loader
 * (src/core/native-addon.ts) uses it only when that is the digest of the sources beside it.
 */
#include <dlfcn.h>
#include <node_api.h>
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
#include "native-abi.h"

typedef struct {
  int mechanisms; /* 0: C_GetSlotList, 1: C_GetMechanismList */
  CK_BBOOL present;
  CK_SLOT_ID slot;
} question_t;

static CK_RV ask(CK_FUNCTION_LIST_PTR f, const question_t *q, CK_ULONG *count) {
  return q->mechanisms ? f->C_GetMechanismList(q->slot, NULL_PTR, count) : f->C_GetSlotList(q->present, NULL_PTR, count);
}

/** The module's answer to `q` as { rv, count }; rv -1 when the module is not loaded or has no function list. */
static napi_value answer(napi_env env, const char *path, const question_t *q) {
  double rv_out = -1, count_out = 0;
  void *lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
  CK_FUNCTION_LIST_PTR f = NULL;
  if (get != NULL && get(&f) == CKR_OK && f != NULL) {
    CK_ULONG count = 0;
    CK_RV rv = ask(f, q, &count);
    if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
      CK_C_INITIALIZE_ARGS args = {NULL_PTR, NULL_PTR, NULL_PTR, NULL_PTR, CKF_OS_LOCKING_OK, NULL_PTR};
      if (f->C_Initialize(&args) == CKR_OK) {
        rv = ask(f, q, &count);
        f->C_Finalize(NULL_PTR);
      }
    }
    rv_out = (double)rv;
    count_out = (double)count;
  }
  if (lib != NULL) dlclose(lib);
  napi_value result, rv_value, count_value;
  napi_create_object(env, &result);
  napi_create_double(env, rv_out, &rv_value);
  napi_create_double(env, count_out, &count_value);
  napi_set_named_property(env, result, "rv", rv_value);
  napi_set_named_property(env, result, "count", count_value);
  return result;
}

/** slotCount(modulePath, tokenPresent): { rv, count } */
static napi_value slot_count(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  size_t path_len = 0;
  bool present = false;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len) != napi_ok || napi_get_value_bool(env, argv[1], &present) != napi_ok) {
    napi_throw_type_error(env, NULL, "slotCount(modulePath: string, tokenPresent: boolean)");
    return NULL;
  }
  question_t q = {0, present ? CK_TRUE : CK_FALSE, 0};
  return answer(env, path, &q);
}

/** mechanismCount(modulePath, slot): { rv, count }; slot is pkcs11js's 8-byte handle. */
static napi_value mechanism_count(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  size_t path_len = 0;
  void *slot_data = NULL;
  size_t slot_len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len) != napi_ok || napi_get_buffer_info(env, argv[1], &slot_data, &slot_len) != napi_ok ||
      slot_len != sizeof(CK_SLOT_ID)) {
    napi_throw_type_error(env, NULL, "mechanismCount(modulePath: string, slot: Buffer)");
    return NULL;
  }
  question_t q = {1, CK_FALSE, 0};
  memcpy(&q.slot, slot_data, sizeof q.slot);
  return answer(env, path, &q);
}

NAPI_MODULE_INIT() {
  napi_value fn, abi;
  napi_create_string_utf8(env, NATIVE_ABI, NAPI_AUTO_LENGTH, &abi);
  napi_set_named_property(env, exports, "abi", abi);
  napi_create_function(env, "slotCount", NAPI_AUTO_LENGTH, slot_count, NULL, &fn);
  napi_set_named_property(env, exports, "slotCount", fn);
  napi_create_function(env, "mechanismCount", NAPI_AUTO_LENGTH, mechanism_count, NULL, &fn);
  napi_set_named_property(env, exports, "mechanismCount", fn);
  return exports;
}
