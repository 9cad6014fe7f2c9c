/*
 * The baseline hsm-bench's operations are measured against: the loop of a minimal C program, one operation per
 * iteration, making the PKCS#11 calls that hsm-bench's timed call makes for that operation (jsTimedCall in
 * src/model/workload.ts, native/timed-loop.c). dlopen the module, C_Initialize with OS locking, log in once per
 * token, one pthread per token with its own session, released together by a barrier, the operation in a loop.
 * Prints one JSON line.
 *
 * usage: op-loop MODULE OP KEY_LABEL OPS_PER_TOKEN INPUT_FILE TOKEN_LABEL...   (PIN in $HSM_BENCH_PIN)
 *   OP          sign-ecdsa   C_SignInit + C_Sign, CKM_ECDSA over SHA-256 of a fresh 32-byte message (hashed here)
 *               sign-rsa     C_SignInit + C_Sign, CKM_SHA256_RSA_PKCS over a fresh 32-byte message
 *               verify-ecdsa C_VerifyInit + C_Verify, CKM_ECDSA, rows data:signature (CKR_SIGNATURE_INVALID counts)
 *               verify-rsa   the same with CKM_SHA256_RSA_PKCS
 *               decrypt      C_DecryptInit + C_Decrypt, CKM_RSA_PKCS, rows of ciphertexts
 *               encrypt      C_EncryptInit + C_Encrypt, CKM_AES_GCM (12-byte IV, 128-bit tag), a 32-byte message,
 *                            with an AES-256 session key made by C_CreateObject in each session
 *               mac          C_SignInit + C_Sign, CKM_SHA256_HMAC, a 32-byte CKK_GENERIC_SECRET session key
 *               digest       C_DigestInit + C_Digest, CKM_SHA256 of a 32-byte message
 *               random       C_GenerateRandom of 32 bytes
 *               derive       C_DeriveKey CKM_ECDH1_DERIVE (CKD_NULL) with a row's host point into a session secret,
 *                            then C_GetAttributeValue(CKA_VALUE) (length, then value) and C_DestroyObject
 *               keygen       C_GenerateKeyPair CKM_EC_KEY_PAIR_GEN P-256 (session objects), then
 *                            C_GetAttributeValue(CKA_EC_POINT) (length, then value) and C_DestroyObject of both
 *   KEY_LABEL   the token key pair's label (sign, verify, decrypt, derive), else -
 *   INPUT_FILE  rows for verify, decrypt, derive, else -: one per line, `TOKEN_LABEL HEX` or `TOKEN_LABEL HEX:HEX`
 *               (verify: data:signature); a token's calls take its rows in turn (row = iteration modulo rows)
 * The message of iteration i is a 24-byte random seed per thread followed by i as a 64-bit big-endian number, as
 * src/model/message.ts makes it. With $OP_LOOP_THREADS=T, T threads (sessions) per token share its operations.
 * With $OP_LOOP_TIME_EACH=1 every iteration also reads the monotonic clock before and after its calls and stores the
 * start and the latency (16 bytes) in a per-thread ring that nothing reads: the least any harness that times every
 * call must do, and so the ceiling such a harness can reach against the bare loop. With =once a call starts where the
 * one before it ended (one clock read per call, as the native loop of hsm-bench times a closed loop); with =tsc that
 * one read is the CPU's time-stamp counter (x86-64 only; no conversion to ns, which a harness would add).
 */
#include <dlfcn.h>
/* SHA256_Init/Update/Final, as native/timed-loop.c hashes (deprecated in OpenSSL 3, the fastest there). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>
#include <openssl/sha.h>
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

enum op { SIGN_ECDSA, SIGN_RSA, VERIFY_ECDSA, VERIFY_RSA, DECRYPT, ENCRYPT, MAC, DIGEST, RANDOM, DERIVE, KEYGEN };
static const char *op_names[] = {"sign-ecdsa", "sign-rsa", "verify-ecdsa", "verify-rsa", "decrypt", "encrypt",
                                 "mac", "digest", "random", "derive", "keygen"};

/* DER of the P-256 OID (1.2.840.10045.3.1.7), the CKA_EC_PARAMS of keygen. */
static unsigned char P256_OID[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};

static CK_FUNCTION_LIST_PTR p11;
static pthread_barrier_t barrier;
static enum op op;
static const char *key_label;

typedef struct {
  unsigned char *data, *aux;
  CK_ULONG data_len, aux_len;
} row_t;

struct worker {
  CK_SLOT_ID slot;
  row_t *rows;
  long row_count;
  long operations;
  long ok;
  long rejected;
  /* CPU time the thread spent in its loop: robust to a busy host, where the rate is not. */
  double cpu_s;
};

/** $OP_LOOP_TIME_EACH: every call timed and its time stored (TIME_*). */
enum { TIME_NONE, TIME_TWO_READS, TIME_ONE_READ, TIME_ONE_TSC_READ };
static int time_each;

#define TIMES_SLOTS 65536
typedef struct {
  int64_t offset_ns;
  int64_t latency_ns;
} call_time_t;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/** One read of the clock the mode times with. */
static int64_t stamp(void) {
#if defined(__x86_64__)
  if (time_each == TIME_ONE_TSC_READ) return (int64_t)__builtin_ia32_rdtsc();
#endif
  return now_ns();
}

static double thread_cpu_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void check(CK_RV rv, const char *what) {
  if (rv != CKR_OK) {
    fprintf(stderr, "op-loop: %s failed: 0x%lx\n", what, (unsigned long)rv);
    exit(3);
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static CK_OBJECT_HANDLE find_key(CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls) {
  CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, (void *)key_label, strlen(key_label)}};
  CK_OBJECT_HANDLE key;
  CK_ULONG found = 0;
  check(p11->C_FindObjectsInit(session, tmpl, 2), "C_FindObjectsInit");
  check(p11->C_FindObjects(session, &key, 1, &found), "C_FindObjects");
  p11->C_FindObjectsFinal(session);
  if (found != 1) check(CKR_KEY_HANDLE_INVALID, "finding the key");
  return key;
}

/** The session secret key of encrypt and mac, as hsm-bench imports it (src/operations/operation-kind.ts). */
static CK_OBJECT_HANDLE create_secret_key(CK_SESSION_HANDLE session, CK_KEY_TYPE type) {
  CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
  CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
  unsigned char value[32];
  const char *label = "hsm-bench test key";
  if (RAND_bytes(value, sizeof value) != 1) check(CKR_FUNCTION_FAILED, "RAND_bytes");
  int aes = type == CKK_AES;
  CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls},         {CKA_KEY_TYPE, &type, sizeof type},
                         {CKA_TOKEN, &no, sizeof no},           {CKA_LABEL, (void *)label, strlen(label)},
                         {CKA_VALUE, value, sizeof value},      {aes ? CKA_ENCRYPT : CKA_SIGN, &yes, sizeof yes},
                         {aes ? CKA_DECRYPT : CKA_VERIFY, &yes, sizeof yes}};
  CK_OBJECT_HANDLE key;
  check(p11->C_CreateObject(session, tmpl, sizeof tmpl / sizeof tmpl[0], &key), "C_CreateObject");
  return key;
}

/** pkcs11js's C_GetAttributeValue: one call for the length, one for the value. */
static CK_RV read_attribute(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type, unsigned char *out, CK_ULONG size) {
  CK_ATTRIBUTE a = {type, NULL, 0};
  CK_RV rv = p11->C_GetAttributeValue(session, object, &a, 1);
  if (rv != CKR_OK) return rv;
  if (a.ulValueLen > size) return CKR_BUFFER_TOO_SMALL;
  a.pValue = out;
  return p11->C_GetAttributeValue(session, object, &a, 1);
}

static void *op_loop(void *arg) {
  struct worker *w = arg;
  CK_SESSION_HANDLE session;
  check(p11->C_OpenSession(w->slot, CKF_SERIAL_SESSION, NULL, NULL, &session), "C_OpenSession");
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_MECHANISM mech = {0, NULL, 0};
  unsigned char iv[12];
  CK_GCM_PARAMS gcm = {iv, sizeof iv, sizeof iv * 8, NULL, 0, 128};
  CK_ECDH1_DERIVE_PARAMS ecdh = {CKD_NULL, 0, NULL, 0, NULL};
  CK_OBJECT_CLASS secret_class = CKO_SECRET_KEY;
  CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
  CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
  CK_ULONG value_len = 32;
  CK_ATTRIBUTE derived[] = {{CKA_CLASS, &secret_class, sizeof secret_class}, {CKA_KEY_TYPE, &generic, sizeof generic},
                            {CKA_TOKEN, &no, sizeof no},                      {CKA_SENSITIVE, &no, sizeof no},
                            {CKA_EXTRACTABLE, &yes, sizeof yes},              {CKA_VALUE_LEN, &value_len, sizeof value_len}};
  CK_ATTRIBUTE public_tmpl[] = {{CKA_TOKEN, &no, sizeof no}, {CKA_VERIFY, &yes, sizeof yes}, {CKA_EC_PARAMS, P256_OID, sizeof P256_OID}};
  CK_ATTRIBUTE private_tmpl[] = {
      {CKA_TOKEN, &no, sizeof no}, {CKA_PRIVATE, &yes, sizeof yes}, {CKA_SENSITIVE, &yes, sizeof yes}, {CKA_SIGN, &yes, sizeof yes}};
  switch (op) {
  case SIGN_ECDSA:
    mech.mechanism = CKM_ECDSA;
    key = find_key(session, CKO_PRIVATE_KEY);
    break;
  case SIGN_RSA:
    mech.mechanism = CKM_SHA256_RSA_PKCS;
    key = find_key(session, CKO_PRIVATE_KEY);
    break;
  case VERIFY_ECDSA:
    mech.mechanism = CKM_ECDSA;
    key = find_key(session, CKO_PUBLIC_KEY);
    break;
  case VERIFY_RSA:
    mech.mechanism = CKM_SHA256_RSA_PKCS;
    key = find_key(session, CKO_PUBLIC_KEY);
    break;
  case DECRYPT:
    mech.mechanism = CKM_RSA_PKCS;
    key = find_key(session, CKO_PRIVATE_KEY);
    break;
  case ENCRYPT:
    if (RAND_bytes(iv, sizeof iv) != 1) check(CKR_FUNCTION_FAILED, "RAND_bytes");
    mech = (CK_MECHANISM){CKM_AES_GCM, &gcm, sizeof gcm};
    key = create_secret_key(session, CKK_AES);
    break;
  case MAC:
    mech.mechanism = CKM_SHA256_HMAC;
    key = create_secret_key(session, CKK_GENERIC_SECRET);
    break;
  case DIGEST:
    mech.mechanism = CKM_SHA256;
    break;
  case RANDOM:
    break;
  case DERIVE:
    mech = (CK_MECHANISM){CKM_ECDH1_DERIVE, &ecdh, sizeof ecdh};
    key = find_key(session, CKO_PRIVATE_KEY);
    break;
  case KEYGEN:
    mech.mechanism = CKM_EC_KEY_PAIR_GEN;
    break;
  }
  unsigned char message[32], digest[32], out[512];
  if (RAND_bytes(message, 24) != 1) check(CKR_FUNCTION_FAILED, "RAND_bytes");
  /* OpenSSL 3's one-shot SHA256() looks its implementation up on every call, which costs more than a fast token's
     signature: the low-level functions hash on the stack, as native/timed-loop.c does. */
  SHA256_CTX sha256;
  call_time_t *times = time_each ? calloc(TIMES_SLOTS, sizeof *times) : NULL;
  pthread_barrier_wait(&barrier);
  double cpu_start_s = thread_cpu_s();
  int64_t start_ns = time_each ? stamp() : 0;
  /* One read per call: the previous call's end is this one's begin. */
  int64_t carried_ns = start_ns;
  for (long i = 0; i < w->operations; i++) {
    CK_ULONG len = sizeof out;
    CK_RV rv;
    int64_t begin_ns = time_each == TIME_TWO_READS ? now_ns() : carried_ns;
    row_t *row = w->row_count > 0 ? &w->rows[i % w->row_count] : NULL;
    for (int b = 0; b < 8; b++) message[24 + b] = (unsigned char)((unsigned long)i >> (56 - 8 * b));
    switch (op) {
    case SIGN_ECDSA:
      SHA256_Init(&sha256);
      SHA256_Update(&sha256, message, sizeof message);
      SHA256_Final(digest, &sha256);
      rv = p11->C_SignInit(session, &mech, key);
      if (rv == CKR_OK) rv = p11->C_Sign(session, digest, sizeof digest, out, &len);
      break;
    case SIGN_RSA:
    case MAC:
      len = op == MAC ? 32 : len;
      rv = p11->C_SignInit(session, &mech, key);
      if (rv == CKR_OK) rv = p11->C_Sign(session, message, sizeof message, out, &len);
      break;
    case VERIFY_ECDSA:
    case VERIFY_RSA:
      rv = p11->C_VerifyInit(session, &mech, key);
      if (rv == CKR_OK) rv = p11->C_Verify(session, row->data, row->data_len, row->aux, row->aux_len);
      if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE) {
        w->rejected++;
        rv = CKR_OK;
      }
      break;
    case DECRYPT:
      rv = p11->C_DecryptInit(session, &mech, key);
      if (rv == CKR_OK) rv = p11->C_Decrypt(session, row->data, row->data_len, out, &len);
      break;
    case ENCRYPT:
      len = 48;
      rv = p11->C_EncryptInit(session, &mech, key);
      if (rv == CKR_OK) rv = p11->C_Encrypt(session, message, sizeof message, out, &len);
      break;
    case DIGEST:
      len = 32;
      rv = p11->C_DigestInit(session, &mech);
      if (rv == CKR_OK) rv = p11->C_Digest(session, message, sizeof message, out, &len);
      break;
    case RANDOM:
      rv = p11->C_GenerateRandom(session, out, 32);
      break;
    case DERIVE: {
      CK_OBJECT_HANDLE secret;
      ecdh.pPublicData = row->data;
      ecdh.ulPublicDataLen = row->data_len;
      rv = p11->C_DeriveKey(session, &mech, key, derived, sizeof derived / sizeof derived[0], &secret);
      if (rv == CKR_OK) {
        read_attribute(session, secret, CKA_VALUE, out, sizeof out);
        rv = p11->C_DestroyObject(session, secret);
      }
      break;
    }
    case KEYGEN: {
      CK_OBJECT_HANDLE public_key, private_key;
      rv = p11->C_GenerateKeyPair(session, &mech, public_tmpl, sizeof public_tmpl / sizeof public_tmpl[0], private_tmpl,
                                  sizeof private_tmpl / sizeof private_tmpl[0], &public_key, &private_key);
      if (rv == CKR_OK) {
        read_attribute(session, public_key, CKA_EC_POINT, out, sizeof out);
        rv = p11->C_DestroyObject(session, public_key);
        CK_RV rv2 = p11->C_DestroyObject(session, private_key);
        if (rv == CKR_OK) rv = rv2;
      }
      break;
    }
    default:
      rv = CKR_FUNCTION_NOT_SUPPORTED;
    }
    if (times != NULL) {
      int64_t end_ns = stamp();
      carried_ns = end_ns;
      /* volatile: the ring is never read, and the compiler must not drop the stores. */
      volatile call_time_t *slot = &times[i % TIMES_SLOTS];
      slot->offset_ns = begin_ns - start_ns;
      slot->latency_ns = end_ns - begin_ns;
    }
    if (rv == CKR_OK) w->ok++;
  }
  w->cpu_s = thread_cpu_s() - cpu_start_s;
  free(times);
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

static int hex_value(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; }

/** Decodes the hex digits of s up to a character that is not one; returns the bytes (NULL if none) and the end. */
static unsigned char *from_hex(const char *s, CK_ULONG *len, const char **end) {
  size_t n = 0;
  while (hex_value(s[n]) >= 0) n++;
  *end = s + n;
  *len = n / 2;
  if (n == 0 || n % 2 != 0) return NULL;
  unsigned char *bytes = malloc(n / 2);
  for (size_t i = 0; i < n / 2; i++) bytes[i] = (unsigned char)(hex_value(s[2 * i]) << 4 | hex_value(s[2 * i + 1]));
  return bytes;
}

/** The rows of one token from the input file: lines `TOKEN_LABEL HEX[:HEX]`. */
static row_t *read_rows(const char *path, const char *token, long *count) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "op-loop: cannot read %s\n", path);
    exit(3);
  }
  row_t *rows = NULL;
  long n = 0, capacity = 0;
  char *line = NULL;
  size_t size = 0;
  size_t label_len = strlen(token);
  while (getline(&line, &size, f) > 0) {
    if (strncmp(line, token, label_len) != 0 || line[label_len] != ' ') continue;
    if (n == capacity) rows = realloc(rows, (capacity = capacity ? 2 * capacity : 64) * sizeof *rows);
    const char *end;
    row_t *r = &rows[n];
    memset(r, 0, sizeof *r);
    r->data = from_hex(line + label_len + 1, &r->data_len, &end);
    if (*end == ':') r->aux = from_hex(end + 1, &r->aux_len, &end);
    if (r->data == NULL) {
      fprintf(stderr, "op-loop: bad row in %s: %s", path, line);
      exit(3);
    }
    n++;
  }
  free(line);
  fclose(f);
  *count = n;
  return rows;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: op-loop MODULE OP KEY_LABEL OPS_PER_TOKEN INPUT_FILE TOKEN_LABEL...\n");
    return 2;
  }
  int known = 0;
  for (int i = 0; i < (int)(sizeof op_names / sizeof op_names[0]); i++)
    if (strcmp(argv[2], op_names[i]) == 0) {
      op = (enum op)i;
      known = 1;
    }
  if (!known) {
    fprintf(stderr, "op-loop: unknown operation %s\n", argv[2]);
    return 2;
  }
  int needs_rows = op == VERIFY_ECDSA || op == VERIFY_RSA || op == DECRYPT || op == DERIVE;
  if (needs_rows && strcmp(argv[5], "-") == 0) {
    fprintf(stderr, "op-loop: %s needs an input file\n", argv[2]);
    return 2;
  }
  const char *timing = getenv("OP_LOOP_TIME_EACH");
  time_each = timing == NULL ? TIME_NONE
              : strcmp(timing, "1") == 0 ? TIME_TWO_READS
              : strcmp(timing, "once") == 0 ? TIME_ONE_READ
              : strcmp(timing, "tsc") == 0 ? TIME_ONE_TSC_READ
              : TIME_NONE;
  const char *pin = getenv("HSM_BENCH_PIN");
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib || !pin) {
    fprintf(stderr, "op-loop: cannot load %s or HSM_BENCH_PIN unset\n", argv[1]);
    return 3;
  }
  key_label = argv[3];
  long per_token_ops = atol(argv[4]);
  CK_C_GetFunctionList get_list = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
  check(get_list(&p11), "C_GetFunctionList");
  CK_C_INITIALIZE_ARGS init = {NULL, NULL, NULL, NULL, CKF_OS_LOCKING_OK, NULL};
  check(p11->C_Initialize(&init), "C_Initialize");

  int tokens = argc - 6;
  int per_token = getenv("OP_LOOP_THREADS") ? atoi(getenv("OP_LOOP_THREADS")) : 1;
  if (per_token < 1) per_token = 1;
  int n = tokens * per_token;
  struct worker *workers = calloc(n, sizeof *workers);
  pthread_t *threads = calloc(n, sizeof *threads);
  CK_SESSION_HANDLE *login_sessions = calloc(tokens, sizeof *login_sessions);
  for (int t = 0; t < tokens; t++) {
    const char *label = argv[6 + t];
    CK_SLOT_ID slot;
    if (!find_slot(label, &slot)) check(CKR_TOKEN_NOT_PRESENT, label);
    check(p11->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &login_sessions[t]), "C_OpenSession");
    check(p11->C_Login(login_sessions[t], CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), "C_Login");
    long row_count = 0;
    row_t *rows = needs_rows ? read_rows(argv[5], label, &row_count) : NULL;
    if (needs_rows && row_count == 0) {
      fprintf(stderr, "op-loop: no rows for token %s in %s\n", label, argv[5]);
      return 3;
    }
    for (int k = 0; k < per_token; k++) {
      struct worker *w = &workers[t * per_token + k];
      w->slot = slot;
      w->rows = rows;
      w->row_count = row_count;
      w->operations = per_token_ops / per_token + (k < per_token_ops % per_token ? 1 : 0);
    }
  }
  pthread_barrier_init(&barrier, NULL, n + 1);
  for (int i = 0; i < n; i++) pthread_create(&threads[i], NULL, op_loop, &workers[i]);
  pthread_barrier_wait(&barrier);
  double start = now_s();
  long ok = 0, rejected = 0;
  double cpu_s = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(threads[i], NULL);
    ok += workers[i].ok;
    rejected += workers[i].rejected;
    cpu_s += workers[i].cpu_s;
  }
  double seconds = now_s() - start;
  for (int t = 0; t < tokens; t++) p11->C_CloseSession(login_sessions[t]);
  p11->C_Finalize(NULL);
  if (op == VERIFY_ECDSA || op == VERIFY_RSA) fprintf(stderr, "op-loop: %ld of %ld verifications answered 'invalid'\n", rejected, ok);
  printf("{\"operationsOk\":%ld,\"durationS\":%.6f,\"throughputPerS\":%.2f,\"loopCpuS\":%.6f}\n", ok, seconds, ok / seconds, cpu_s);
  return 0;
}
