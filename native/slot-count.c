/*
 * How many slots a module says it has, asked the way PKCS#11 asks it (C_GetSlotList with no list), before pkcs11js
 * asks again: pkcs11js allocates as many slot ids as the module answers, so a module that answers 2^31 would have
 * hsm-bench allocate 16 GiB, or crash, instead of saying what the module did.
 *
 * The module is the instance the JS side loaded and initialized: dlopen of the same file (RTLD_NOLOAD: only if it
 * is loaded already) returns the same library. A module whose every C_GetFunctionList is a new, uninitialized
 * instance (p11-kit's client and proxy) answers CKR_CRYPTOKI_NOT_INITIALIZED; that instance is initialized here,
 * asked, and finalized.
 */
#include <dlfcn.h>
#include <node_api.h>
#include <stdlib.h>

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType(*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType(*name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"

/** slotCount(modulePath, tokenPresent): { rv, count }; rv -1 when the module is not loaded or has no function list. */
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
  double rv_out = -1, count_out = 0;
  void *lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
  CK_FUNCTION_LIST_PTR f = NULL;
  if (get != NULL && get(&f) == CKR_OK && f != NULL) {
    CK_ULONG count = 0;
    CK_RV rv = f->C_GetSlotList(present ? CK_TRUE : CK_FALSE, NULL_PTR, &count);
    if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) {
      CK_C_INITIALIZE_ARGS args = {NULL_PTR, NULL_PTR, NULL_PTR, NULL_PTR, CKF_OS_LOCKING_OK, NULL_PTR};
      if (f->C_Initialize(&args) == CKR_OK) {
        rv = f->C_GetSlotList(present ? CK_TRUE : CK_FALSE, NULL_PTR, &count);
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

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "slotCount", NAPI_AUTO_LENGTH, slot_count, NULL, &fn);
  napi_set_named_property(env, exports, "slotCount", fn);
  return exports;
}
