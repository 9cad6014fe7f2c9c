/*
 * The baseline hsm-bench is measured against: the signing loop of a minimal C program. dlopen the module,
 * C_Initialize with OS locking, log in once per token, one pthread per token with its own session, released
 * together by a barrier, C_SignInit + C_Sign in a loop. Prints one JSON line.
 *
 * usage: sign-loop MODULE KEY_LABEL SIGNATURES_PER_TOKEN rsa|ecdsa TOKEN_LABEL...   (PIN in $HSM_BENCH_PIN)
 * With $SIGN_LOOP_THREADS=T, T threads (sessions) per token share its signatures.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CK_PTR *
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType(*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType(*name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"

static CK_FUNCTION_LIST_PTR p11;
static pthread_barrier_t barrier;
static const char *key_label;
static long signatures_per_token;
static CK_MECHANISM_TYPE mechanism;

struct worker {
  CK_SLOT_ID slot;
  long signatures;
  long ok;
};

static void check(CK_RV rv, const char *what) {
  if (rv != CKR_OK) {
    fprintf(stderr, "sign-loop: %s failed: 0x%lx\n", what, (unsigned long)rv);
    exit(3);
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *sign_loop(void *arg) {
  struct worker *w = arg;
  CK_SESSION_HANDLE session;
  check(p11->C_OpenSession(w->slot, CKF_SERIAL_SESSION, NULL, NULL, &session), "C_OpenSession");
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, (void *)key_label, strlen(key_label)}};
  CK_OBJECT_HANDLE key;
  CK_ULONG found = 0;
  check(p11->C_FindObjectsInit(session, tmpl, 2), "C_FindObjectsInit");
  check(p11->C_FindObjects(session, &key, 1, &found), "C_FindObjects");
  p11->C_FindObjectsFinal(session);
  if (found != 1) check(CKR_KEY_HANDLE_INVALID, "finding the key");
  CK_MECHANISM mech = {mechanism, NULL, 0};
  unsigned char data[32] = {1}, sig[512];
  pthread_barrier_wait(&barrier);
  for (long i = 0; i < w->signatures; i++) {
    CK_ULONG len = sizeof sig;
    memcpy(data, &i, sizeof i);
    if (p11->C_SignInit(session, &mech, key) == CKR_OK && p11->C_Sign(session, data, sizeof data, sig, &len) == CKR_OK) w->ok++;
  }
  p11->C_CloseSession(session);
  return NULL;
}

static int find_slot(const char *label, CK_SLOT_ID *out) {
  CK_SLOT_ID slots[1024];
  CK_ULONG count = 1024;
  check(p11->C_GetSlotList(CK_TRUE, slots, &count), "C_GetSlotList");
  for (CK_ULONG i = 0; i < count; i++) {
    CK_TOKEN_INFO info;
    if (p11->C_GetTokenInfo(slots[i], &info) != CKR_OK) continue;
    size_t n = strlen(label);
    if (n <= sizeof info.label && memcmp(info.label, label, n) == 0 && (n == sizeof info.label || info.label[n] == ' ')) {
      *out = slots[i];
      return 1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: sign-loop MODULE KEY_LABEL SIGNATURES_PER_TOKEN rsa|ecdsa TOKEN_LABEL...\n");
    return 2;
  }
  const char *pin = getenv("HSM_BENCH_PIN");
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib || !pin) {
    fprintf(stderr, "sign-loop: cannot load %s or HSM_BENCH_PIN unset\n", argv[1]);
    return 3;
  }
  key_label = argv[2];
  signatures_per_token = atol(argv[3]);
  mechanism = strcmp(argv[4], "rsa") == 0 ? CKM_SHA256_RSA_PKCS : CKM_ECDSA;
  CK_C_GetFunctionList get_list = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
  check(get_list(&p11), "C_GetFunctionList");
  CK_C_INITIALIZE_ARGS init = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};
  check(p11->C_Initialize(&init), "C_Initialize");

  int tokens = argc - 5;
  int per_token = getenv("SIGN_LOOP_THREADS") ? atoi(getenv("SIGN_LOOP_THREADS")) : 1;
  if (per_token < 1) per_token = 1;
  int n = tokens * per_token;
  struct worker *workers = calloc(n, sizeof *workers);
  pthread_t *threads = calloc(n, sizeof *threads);
  CK_SESSION_HANDLE *login_sessions = calloc(tokens, sizeof *login_sessions);
  for (int t = 0; t < tokens; t++) {
    CK_SLOT_ID slot;
    if (!find_slot(argv[5 + t], &slot)) check(CKR_TOKEN_NOT_PRESENT, argv[5 + t]);
    check(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &login_sessions[t]), "C_OpenSession");
    check(p11->C_Login(login_sessions[t], CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), "C_Login");
    for (int k = 0; k < per_token; k++) {
      workers[t * per_token + k].slot = slot;
      workers[t * per_token + k].signatures = signatures_per_token / per_token + (k < signatures_per_token % per_token ? 1 : 0);
    }
  }
  pthread_barrier_init(&barrier, NULL, n + 1);
  for (int i = 0; i < n; i++) pthread_create(&threads[i], NULL, sign_loop, &workers[i]);
  pthread_barrier_wait(&barrier);
  double start = now_s();
  long ok = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(threads[i], NULL);
    ok += workers[i].ok;
  }
  double seconds = now_s() - start;
  for (int t = 0; t < tokens; t++) p11->C_CloseSession(login_sessions[t]);
  p11->C_Finalize(NULL);
  printf("{\"operationsOk\":%ld,\"durationS\":%.6f,\"throughputPerS\":%.2f}\n", ok, seconds, ok / seconds);
  return 0;
}
