/*
 * module_probe MODULE: loads a PKCS#11 module as hsm-bench does (dlopen, C_GetFunctionList, C_Initialize with
 * CKF_OS_LOCKING_OK, C_GetInfo, C_GetSlotList, then a second load and C_Initialize to learn whether loads share
 * one instance), in a process of its own, so that a module that crashes or hangs there costs this process and not
 * hsm-bench's. Before each call it writes "step NAME" (unbuffered: a crash must not lose the line), so that the
 * process that started it can say where the module crashed or hung. It ends with one of:
 *   ok shared|per-load     every call returned
 *   declined NAME RV       a call returned an error (hsm-bench then loads the module itself and names it as usual)
 *   nolist NAME            C_GetFunctionList returned CKR_OK and no function list
 *   missing NAME           the function list has no entry for a function hsm-bench calls
 * It never finalizes: the process ends with _exit, which releases everything without calling into the module
 * again (a module that hangs in C_Finalize is met at the end of a run, where hsm-bench bounds it).
 *
 * module_probe --abi prints the digest of the native sources it was built from (native/abi.json) and nothing else:
 * hsm-bench runs the probe only when that is the digest of the sources beside it (src/core/native-addon.ts).
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType(*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType(*name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"
#include "native-abi.h"

/** The slot list is read only when it is of a sane size; a larger count is reported as it is. */
#define MAX_SLOTS_READ 65536

static void say(const char *format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(line, sizeof line - 1, format, args);
  va_end(args);
  if (n < 0) return;
  if (n > (int)sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  for (int done = 0; done < n;) {
    ssize_t w = write(1, line + done, n - done);
    if (w <= 0) return;
    done += (int)w;
  }
}

static void end(void) { _exit(0); }

/** dlopen and C_GetFunctionList, as pkcs11js loads a module; `which` names the load in the steps. */
static CK_FUNCTION_LIST_PTR load(const char *path, const char *which) {
  say("step dlopen%s", which);
  void *handle = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
  if (handle == NULL) {
    say("declined dlopen%s 0", which);
    end();
  }
  CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(handle, "C_GetFunctionList");
  if (get == NULL) {
    say("declined dlsym%s 0", which);
    end();
  }
  CK_FUNCTION_LIST_PTR list = NULL;
  say("step C_GetFunctionList%s", which);
  CK_RV rv = get(&list);
  if (rv != CKR_OK) {
    say("declined C_GetFunctionList%s %lu", which, (unsigned long)rv);
    end();
  }
  if (list == NULL) {
    say("nolist C_GetFunctionList%s", which);
    end();
  }
  /* The functions every hsm-bench command calls first; a NULL entry would be jumped to. */
  if (list->C_Initialize == NULL) say("missing C_Initialize"), end();
  if (list->C_Finalize == NULL) say("missing C_Finalize"), end();
  if (list->C_GetInfo == NULL) say("missing C_GetInfo"), end();
  if (list->C_GetSlotList == NULL) say("missing C_GetSlotList"), end();
  if (list->C_GetSlotInfo == NULL) say("missing C_GetSlotInfo"), end();
  if (list->C_GetTokenInfo == NULL) say("missing C_GetTokenInfo"), end();
  return list;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--abi") == 0) {
    say("%s", NATIVE_ABI);
    return 0;
  }
  if (argc != 2) {
    fprintf(stderr, "usage: module_probe MODULE\n");
    return 2;
  }
  CK_C_INITIALIZE_ARGS args = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};
  CK_FUNCTION_LIST_PTR list = load(argv[1], "");
  say("step C_Initialize");
  CK_RV rv = list->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) say("declined C_Initialize %lu", (unsigned long)rv), end();
  CK_INFO info;
  say("step C_GetInfo");
  rv = list->C_GetInfo(&info);
  if (rv != CKR_OK) say("declined C_GetInfo %lu", (unsigned long)rv), end();
  CK_ULONG count = 0;
  say("step C_GetSlotList");
  rv = list->C_GetSlotList(CK_FALSE, NULL, &count);
  if (rv != CKR_OK) say("declined C_GetSlotList %lu", (unsigned long)rv), end();
  if (count > 0 && count <= MAX_SLOTS_READ) {
    CK_SLOT_ID *slots = calloc(count, sizeof *slots);
    if (slots != NULL) {
      rv = list->C_GetSlotList(CK_FALSE, slots, &count);
      free(slots);
      if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL) say("declined C_GetSlotList %lu", (unsigned long)rv), end();
    }
  }
  /* A second load that is not initialized yet is an instance of its own (p11-kit's client and proxy). */
  CK_FUNCTION_LIST_PTR again = load(argv[1], " (a second load)");
  say("step C_Initialize (a second load)");
  rv = again->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) say("declined C_Initialize (a second load) %lu", (unsigned long)rv), end();
  say("ok %s", rv == CKR_OK ? "per-load" : "shared");
  end();
  return 0;
}
