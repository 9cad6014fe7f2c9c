/*
 * The timed loop in native threads: one pthread per job (a session on a token), each timing one PKCS#11 call in
 * a loop and writing fixed-size records into a ring of its own that the JS side drains.
 *
 * Why: one Node worker thread per session costs an isolate each. At 64 tokens x 4 sessions, each signature held
 * 100 ms in the module, worker threads reached 0.945 of a C pthread loop with 2,855 MB peak RSS and 14 s before the
 * first signature (bench/many-sessions); a pthread costs its stack. Everything but the timed call stays in JS
 * (pkcs11js): the module's initialization, sessions, login and the PIN rule, key lookup, reconnects, recording and
 * verification. A job whose call fails in a run with recovery parks until the JS side has reconnected it (a new
 * session and key handle) or given it up.
 *
 * The module must be the instance the JS side initialized and logged in: dlopen of the same file returns the same
 * library, so this is only used for modules whose loads share one instance.
 *
 * What a job calls and with what input comes from the operation (src/model/workload.ts): `call` names the
 * PKCS#11 call (sign, verify, decrypt, encrypt, digest, random), the mechanism is given with its parameters (PSS,
 * OAEP, an IV, GCM), and the input is the operation's recipe: the message (a 24-byte seed followed by the signed
 * 64-bit big-endian sequence number, optionally hashed with SHA-256 and wrapped in the PKCS#1 DigestInfo, as
 * src/model/message.ts and src/model/workload.ts do for the JS loop), a row of the job's table (row = sequence
 * modulo the rows: ciphertexts, or data and signature for verify), or nothing.
 *
 * With a schedule (an open-loop target rate, src/model/schedule.ts), the jobs take the configuration's calls from
 * one counter: call k is intended to start k x interval after the window opens. A job that takes a call before its
 * time waits for it; one that takes it after its time (no session was free) starts it at once, late. Each record
 * keeps how long after its intended start the call began, so that response time = start lag + service time.
 *
 * Every output is checked against the buffer given and the size the operation makes (src/model/workload.ts,
 * outputBytes): a module that answers CKR_OK with another size (an empty signature, a length over the buffer) makes
 * a WRONG_OUTPUT_SIZE failure, and nothing of it is copied. Whether an output was kept for the host check is a flag
 * of its own in the record, never read from its length.
 *
 * A call that never returns: each job publishes when its call in flight began; the JS side's watchdog may abandon
 * it (abandon()), which records the call as CALL_TIMED_OUT in the job's ring and ends the job without its thread.
 * The thread, if it ever comes back, sees it was abandoned and ends without touching the ring. Such a thread cannot
 * be joined, and its loop's memory is never freed; the process leaves with exitNow() (_exit) once its results are
 * written: exit() would run the module's destructors under it, and Node's exit would wait for it forever.
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <node_api.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
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

enum { CALL_SIGN = 1, CALL_VERIFY = 2, CALL_DECRYPT = 3, CALL_ENCRYPT = 4, CALL_DIGEST = 5, CALL_RANDOM = 6 };
enum { INPUT_MESSAGE = 0, INPUT_SHA256 = 1, INPUT_SHA256_DIGESTINFO = 2, INPUT_TABLE = 3, INPUT_NONE = 4 };
enum { PARAM_NONE = 0, PARAM_PSS = 1, PARAM_OAEP = 2, PARAM_IV = 3, PARAM_GCM = 4 };
enum { JOB_WARMING = 0, JOB_READY = 1, JOB_RUNNING = 2, JOB_PARKED = 3, JOB_DONE = 4, JOB_ABANDONED = 5 };
enum { PARK_WAIT = 0, PARK_RESUME = 1, PARK_END = 2 };
/** Statuses that did not come from the module (as in src/model/record-status.ts). */
#define WRONG_OUTPUT_SIZE (-2)
#define CALL_TIMED_OUT (-3)
/** call_begin_ns of a job whose call was abandoned (0: not in a call). */
#define CALL_ABANDONED (-1)
#define SEED_BYTES 24
#define MESSAGE_BYTES 32
/** Without recovery (scale), a token that fails this many calls in a row is left alone, as in the JS loop. */
#define MAX_CONSECUTIVE_FAILURES 100
/** Operations of one workload (--mix): more is a typo, not a workload. */
#define MAX_OPERATIONS 16

static const unsigned char DIGEST_INFO_SHA256[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};

typedef struct {
  int64_t offset_ns;
  int64_t latency_ns;
  /* Open loop: the start's lag behind the intended start (-1 without a schedule), and whether the call was late. */
  int64_t lag_ns;
  int32_t status;
  uint16_t output_bytes;
  uint8_t operation;
  uint8_t late;
  /* 1: the output is in the ring for the host check; 0: not sampled (or the call failed). */
  uint8_t kept;
} record_t;

/** One operation of the workload: its call, mechanism (with its parameters) and input recipe. */
typedef struct {
  int call;
  CK_MECHANISM mechanism;
  CK_RSA_PKCS_PSS_PARAMS pss;
  CK_RSA_PKCS_OAEP_PARAMS oaep;
  CK_GCM_PARAMS gcm;
  unsigned char iv[16];
  int input;
  /* The size of the output the operation makes; any other is a WRONG_OUTPUT_SIZE failure. */
  CK_ULONG output_bytes;
} operation_t;

struct loop;

typedef struct {
  unsigned char *data;
  CK_ULONG length;
} bytes_t;

typedef struct {
  struct loop *loop;
  int index;
  pthread_t thread;
  int started;
  CK_SESSION_HANDLE session;
  unsigned char seed[SEED_BYTES];
  uint32_t seed_word;
  /* Per operation: the key, and the job's table (INPUT_TABLE): rows, and for verify the signature of each row. */
  CK_OBJECT_HANDLE keys[MAX_OPERATIONS];
  bytes_t *rows[MAX_OPERATIONS], *aux[MAX_OPERATIONS];
  uint32_t row_count[MAX_OPERATIONS], aux_count[MAX_OPERATIONS];
  long warmup;
  int64_t first_sequence;
  int64_t count; /* -1: no count of its own */
  /* The ring: written by the job's thread at head, drained by the JS thread at tail. */
  record_t *records;
  unsigned char *outputs; /* slots x kept_bytes when outputs are kept, else NULL */
  uint32_t slots;
  uint64_t head, tail;
  int state;
  int park; /* PARK_* : what the JS side decided for a parked job */
  int64_t parked_at_ns;
  char gave_up[96];
  /* The call in flight: when it began (0: none; CALL_ABANDONED once the JS side gave it up), and what abandon()
     records of it. Written by the job's thread before call_begin_ns is published. */
  int64_t call_begin_ns;
  int64_t call_lag_ns;
  int call_late;
  int call_operation;
  int call_measured;
} job_t;

typedef struct loop {
  CK_FUNCTION_LIST_PTR f;
  operation_t ops[MAX_OPERATIONS];
  int op_count;
  /* Cumulative weights of the operations (src/model/workload.ts, pickOperation). */
  uint32_t cumulative[MAX_OPERATIONS];
  uint32_t buffer_bytes; /* the buffer each call writes its output into */
  uint32_t kept_bytes;   /* room per ring slot for a kept output: the largest size an operation makes */
  int64_t keep_every;    /* keep every k-th output for the host check; 0 keeps none */
  int64_t duration_ns; /* -1: none */
  int64_t shared_total; /* -1: none */
  /* The open-loop schedule: call k intended at start + k x interval_ns (0: no schedule), calls_limit calls (-1: until the deadline). */
  double interval_ns;
  int64_t calls_limit;
  int64_t next_call;
  int recovery;
  int64_t claimed;
  int stop;
  int released;
  int64_t start_ns;
  pthread_mutex_t mutex;
  pthread_cond_t changed; /* barrier opened, a job resumed, space drained, stop */
  int job_count;
  job_t *jobs;
  int closed;
  int abandoned; /* jobs abandoned: their threads may still be inside the module */
} loop_t;

static int64_t now_ns(void) {
  /* CLOCK_MONOTONIC: the clock of process.hrtime on Linux, so offsets agree with the JS side's start time. */
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int stopping(loop_t *l) { return __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE); }

/** Waits for a change, at most `ms` (on the monotonic clock: a wall-clock step must not stretch or cut the wait). */
static void wait_changed(loop_t *l, int ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += (long)ms * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_cond_timedwait(&l->changed, &l->mutex, &until);
}

static int claim(loop_t *l) {
  int64_t c = __atomic_load_n(&l->claimed, __ATOMIC_SEQ_CST);
  while (c < l->shared_total) {
    if (__atomic_compare_exchange_n(&l->claimed, &c, c + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return 1;
  }
  return 0;
}

/** The call's input for one sequence number: the operation's message recipe. */
static CK_ULONG input_for(operation_t *op, job_t *j, int64_t sequence, unsigned char *into) {
  unsigned char message[MESSAGE_BYTES];
  memcpy(message, j->seed, SEED_BYTES);
  uint64_t s = (uint64_t)sequence;
  for (int i = 0; i < 8; i++) message[SEED_BYTES + i] = (unsigned char)(s >> (56 - 8 * i));
  if (op->input == INPUT_MESSAGE) {
    memcpy(into, message, MESSAGE_BYTES);
    return MESSAGE_BYTES;
  }
  if (op->input == INPUT_SHA256) {
    SHA256(message, MESSAGE_BYTES, into);
    return 32;
  }
  memcpy(into, DIGEST_INFO_SHA256, sizeof DIGEST_INFO_SHA256);
  SHA256(message, MESSAGE_BYTES, into + sizeof DIGEST_INFO_SHA256);
  return sizeof DIGEST_INFO_SHA256 + 32;
}

static uint32_t row_of(int64_t sequence, uint32_t rows) { return (uint32_t)(((sequence % rows) + rows) % rows); }

/** The operation of call `sequence`: the twin of pickOperation in src/model/workload.ts (murmur3's finalizer). */
static int pick(loop_t *l, job_t *j, int64_t sequence) {
  if (l->op_count == 1) return 0;
  uint64_t s = (uint64_t)sequence;
  uint32_t h = j->seed_word ^ ((uint32_t)s * 0x9e3779b1u) ^ ((uint32_t)(s >> 32) * 0x85ebca77u);
  h = (h ^ (h >> 16)) * 0x85ebca6bu;
  h = (h ^ (h >> 13)) * 0xc2b2ae35u;
  h ^= h >> 16;
  uint32_t draw = h % l->cumulative[l->op_count - 1];
  int i = 0;
  while (draw >= l->cumulative[i]) i++;
  return i;
}

static int32_t call_once(loop_t *l, job_t *j, int o, int64_t sequence, unsigned char *out, CK_ULONG *out_len) {
  operation_t *op = &l->ops[o];
  CK_OBJECT_HANDLE key = j->keys[o];
  unsigned char message[64];
  unsigned char *data = message;
  CK_ULONG data_len = 0;
  if (op->input == INPUT_TABLE) {
    bytes_t *row = &j->rows[o][row_of(sequence, j->row_count[o])];
    data = row->data;
    data_len = row->length;
  } else if (op->input != INPUT_NONE) {
    data_len = input_for(op, j, sequence, message);
  }
  *out_len = l->buffer_bytes;
  CK_RV rv = CKR_OK;
  switch (op->call) {
  case CALL_SIGN:
    rv = l->f->C_SignInit(j->session, &op->mechanism, key);
    if (rv == CKR_OK) rv = l->f->C_Sign(j->session, data, data_len, out, out_len);
    break;
  case CALL_VERIFY: {
    /* The answer is the output (1 accepted, 0 rejected): the host checks it against the row's expected answer. */
    bytes_t *signature = &j->aux[o][row_of(sequence, j->aux_count[o])];
    rv = l->f->C_VerifyInit(j->session, &op->mechanism, key);
    if (rv == CKR_OK) rv = l->f->C_Verify(j->session, data, data_len, signature->data, signature->length);
    out[0] = rv == CKR_OK;
    if (rv == CKR_SIGNATURE_INVALID || rv == CKR_SIGNATURE_LEN_RANGE) rv = CKR_OK;
    *out_len = 1;
    break;
  }
  case CALL_DECRYPT:
    rv = l->f->C_DecryptInit(j->session, &op->mechanism, key);
    if (rv == CKR_OK) rv = l->f->C_Decrypt(j->session, data, data_len, out, out_len);
    break;
  case CALL_ENCRYPT:
    rv = l->f->C_EncryptInit(j->session, &op->mechanism, key);
    if (rv == CKR_OK) rv = l->f->C_Encrypt(j->session, data, data_len, out, out_len);
    break;
  case CALL_DIGEST:
    rv = l->f->C_DigestInit(j->session, &op->mechanism);
    if (rv == CKR_OK) rv = l->f->C_Digest(j->session, data, data_len, out, out_len);
    break;
  case CALL_RANDOM:
    *out_len = 32;
    rv = l->f->C_GenerateRandom(j->session, out, *out_len);
    break;
  default:
    rv = CKR_FUNCTION_NOT_SUPPORTED;
  }
  /* An output of another size than the operation makes, or past the buffer given (a module that over-reports). */
  if (rv == CKR_OK && (*out_len > l->buffer_bytes || *out_len != op->output_bytes)) return WRONG_OUTPUT_SIZE;
  /* CKR codes are 32-bit values; vendor codes above 2^31 keep their bits in the int32 column. */
  return (int32_t)(uint32_t)rv;
}

/** Publishes the call about to begin, for the watchdog. */
static void call_begins(job_t *j, int64_t begin_ns, int64_t lag_ns, int late, int operation, int measured) {
  j->call_lag_ns = lag_ns;
  j->call_late = late;
  j->call_operation = operation;
  j->call_measured = measured;
  __atomic_store_n(&j->call_begin_ns, begin_ns, __ATOMIC_RELEASE);
}

/** The call returned; 0 if the JS side abandoned it meanwhile (the job's thread must then end at once). */
static int call_returned(job_t *j, int64_t begin_ns) {
  int64_t expected = begin_ns;
  return __atomic_compare_exchange_n(&j->call_begin_ns, &expected, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/** Writes a record at the ring's head (which has room) and publishes it; `out`: an output kept for the host check, or NULL. */
static void write_record(loop_t *l, job_t *j, int64_t offset_ns, int64_t latency_ns, int64_t lag_ns, int late, int32_t status, int operation, const unsigned char *out, CK_ULONG out_len) {
  uint64_t head = j->head;
  uint32_t slot = (uint32_t)(head % j->slots);
  record_t *r = &j->records[slot];
  /* Only an output of the operation's size is ever kept, and a slot holds the largest: the bound is checked again. */
  int kept = out != NULL && j->outputs != NULL && out_len <= l->kept_bytes;
  r->offset_ns = offset_ns;
  r->latency_ns = latency_ns;
  r->lag_ns = lag_ns;
  r->late = (uint8_t)late;
  r->status = status;
  r->kept = (uint8_t)kept;
  r->output_bytes = kept ? (uint16_t)out_len : 0;
  r->operation = (uint8_t)operation;
  if (kept) memcpy(j->outputs + (size_t)slot * l->kept_bytes, out, out_len);
  __atomic_store_n(&j->head, head + 1, __ATOMIC_RELEASE);
}

/** Appends a record; waits while the ring is full (the JS side drains every few ms) unless the run is stopping. */
static void push(loop_t *l, job_t *j, int64_t offset_ns, int64_t latency_ns, int64_t lag_ns, int late, int32_t status, int operation, const unsigned char *out, CK_ULONG out_len) {
  uint64_t head = j->head;
  if (head - __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE) == j->slots) {
    pthread_mutex_lock(&l->mutex);
    while (head - __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE) == j->slots && !stopping(l)) wait_changed(l, 10);
    pthread_mutex_unlock(&l->mutex);
    if (head - __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE) == j->slots) {
      /* Stopping with the ring still full (the JS side has stopped draining): the call is not recorded, and a
         successful one gives its claim on a shared total back, so that counts stay those of the records. */
      if (status == 0 && l->shared_total >= 0) __atomic_sub_fetch(&l->claimed, 1, __ATOMIC_SEQ_CST);
      return;
    }
  }
  write_record(l, j, offset_ns, latency_ns, lag_ns, late, status, operation, out, out_len);
}

/** Waits until `at_ns` (monotonic), or less if the run stops meanwhile. */
static void wait_until(loop_t *l, int64_t at_ns) {
  struct timespec until = {(time_t)(at_ns / 1000000000LL), (long)(at_ns % 1000000000LL)};
  pthread_mutex_lock(&l->mutex);
  while (!stopping(l) && now_ns() < at_ns) pthread_cond_timedwait(&l->changed, &l->mutex, &until);
  pthread_mutex_unlock(&l->mutex);
}

/** Waits for the JS side's decision on a parked job; returns 1 to go on signing. */
static int park(loop_t *l, job_t *j, int64_t failed_at_ns) {
  pthread_mutex_lock(&l->mutex);
  j->park = PARK_WAIT;
  j->parked_at_ns = failed_at_ns;
  __atomic_store_n(&j->state, JOB_PARKED, __ATOMIC_RELEASE);
  while (j->park == PARK_WAIT && !stopping(l)) wait_changed(l, 100);
  int go_on = j->park == PARK_RESUME && !stopping(l);
  __atomic_store_n(&j->state, JOB_RUNNING, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&l->mutex);
  return go_on;
}

static void *run_job(void *arg) {
  job_t *j = arg;
  loop_t *l = j->loop;
  unsigned char *out = malloc(l->buffer_bytes);
  CK_ULONG out_len;
  if (out == NULL) {
    strcpy(j->gave_up, "out of memory");
    __atomic_store_n(&j->state, JOB_DONE, __ATOMIC_RELEASE);
    return NULL;
  }
  /* Warm-up calls use negative sequence numbers, so that no input of the measured window repeats. */
  for (long i = 1; i <= j->warmup && !stopping(l); i++) {
    int64_t begin_ns = now_ns();
    int o = pick(l, j, -i);
    call_begins(j, begin_ns, -1, 0, o, 0);
    call_once(l, j, o, -i, out, &out_len);
    if (!call_returned(j, begin_ns)) {
      free(out);
      return NULL;
    }
  }
  pthread_mutex_lock(&l->mutex);
  __atomic_store_n(&j->state, JOB_READY, __ATOMIC_RELEASE);
  while (!l->released && !stopping(l)) wait_changed(l, 100);
  int64_t start_ns = l->start_ns;
  pthread_mutex_unlock(&l->mutex);
  __atomic_store_n(&j->state, JOB_RUNNING, __ATOMIC_RELEASE);
  int64_t deadline_ns = l->duration_ns < 0 ? -1 : start_ns + l->duration_ns;
  int64_t last = j->count < 0 ? INT64_MAX : j->first_sequence + j->count;
  int consecutive_failures = 0;
  for (int64_t sequence = j->first_sequence; sequence < last && !stopping(l); sequence++) {
    int64_t intended_ns = -1;
    int late = 0;
    if (l->interval_ns > 0) {
      int64_t k = __atomic_fetch_add(&l->next_call, 1, __ATOMIC_SEQ_CST);
      if (l->calls_limit >= 0 && k >= l->calls_limit) break;
      /* The twin of intendedOffsetNs in src/model/schedule.ts. */
      intended_ns = start_ns + (int64_t)llround((double)k * l->interval_ns);
      if (deadline_ns >= 0 && intended_ns >= deadline_ns) break;
      /* Late: the job was busy with its previous call at this one's intended start. A job's first call comes from the
         start barrier, not from a previous call: waking up is not queueing (its lag still counts in the response). */
      late = sequence != j->first_sequence && now_ns() > intended_ns;
      if (!late) wait_until(l, intended_ns);
      if (stopping(l)) break;
    }
    int64_t begin_ns = now_ns();
    /* The window is over: a scheduled call that could not start in it is not made (the run reports it as not started). */
    if (deadline_ns >= 0 && begin_ns >= deadline_ns) break;
    if (l->shared_total >= 0 && !claim(l)) break;
    int which = pick(l, j, sequence);
    int64_t lag_ns = intended_ns < 0 ? -1 : begin_ns - intended_ns;
    call_begins(j, begin_ns, lag_ns, late, which, 1);
    int32_t status = call_once(l, j, which, sequence, out, &out_len);
    int64_t end_ns = now_ns();
    /* Abandoned as hung: abandon() recorded the call and gave its claim back; the job is no longer this thread's. */
    if (!call_returned(j, begin_ns)) {
      free(out);
      return NULL;
    }
    /* A shared total counts successful calls: a failed one gives its claim back. */
    if (status != 0 && l->shared_total >= 0) __atomic_sub_fetch(&l->claimed, 1, __ATOMIC_SEQ_CST);
    int keep = status == 0 && l->keep_every > 0 && sequence % l->keep_every == 0;
    push(l, j, begin_ns - start_ns, end_ns - begin_ns, lag_ns, late, status, which, keep ? out : NULL, out_len);
    consecutive_failures = status == 0 ? 0 : consecutive_failures + 1;
    if (status == 0) continue;
    if (l->recovery) {
      if (!park(l, j, begin_ns)) break;
    } else if (consecutive_failures == MAX_CONSECUTIVE_FAILURES) {
      strcpy(j->gave_up, "100 consecutive signatures failed");
      break;
    }
  }
  free(out);
  __atomic_store_n(&j->state, JOB_DONE, __ATOMIC_RELEASE);
  return NULL;
}

/* ---- N-API glue ---- */

#define CHECK(call)                                                                                                    \
  do {                                                                                                                 \
    if ((call) != napi_ok) {                                                                                           \
      napi_throw_error(env, NULL, "hsm-bench native loop: " #call " failed");                                          \
      return NULL;                                                                                                     \
    }                                                                                                                  \
  } while (0)

static int64_t get_int(napi_env env, napi_value object, const char *name) {
  napi_value v;
  int64_t out = 0;
  napi_get_named_property(env, object, name, &v);
  napi_get_value_int64(env, v, &out);
  return out;
}

/** A pkcs11js handle: a Buffer holding a CK_ULONG in the host's byte order. */
static CK_ULONG get_handle(napi_env env, napi_value object, const char *name) {
  napi_value v;
  void *data = NULL;
  size_t length = 0;
  CK_ULONG h = 0;
  napi_get_named_property(env, object, name, &v);
  if (napi_get_buffer_info(env, v, &data, &length) == napi_ok && length == sizeof h) memcpy(&h, data, sizeof h);
  return h;
}

/** A job's key handles, one per operation (`keys` of a job spec or of resume's handles). */
static void get_keys(napi_env env, napi_value object, job_t *j) {
  napi_value keys, key;
  uint32_t n = 0;
  napi_get_named_property(env, object, "keys", &keys);
  napi_get_array_length(env, keys, &n);
  for (uint32_t o = 0; o < n && o < MAX_OPERATIONS; o++) {
    void *data = NULL;
    size_t length = 0;
    CK_ULONG h = 0;
    napi_get_element(env, keys, o, &key);
    if (napi_get_buffer_info(env, key, &data, &length) == napi_ok && length == sizeof h) memcpy(&h, data, sizeof h);
    j->keys[o] = h;
  }
}

static loop_t *loop_of(napi_env env, napi_value v) {
  loop_t *l = NULL;
  napi_get_value_external(env, v, (void **)&l);
  return l;
}

/** The job at `index` of a loop that is still open; NULL (after throwing) for a closed loop or a bad index. */
static job_t *job_of(napi_env env, napi_value loop, napi_value index) {
  loop_t *l = loop_of(env, loop);
  int32_t i = -1;
  napi_get_value_int32(env, index, &i);
  if (l == NULL || l->closed || i < 0 || i >= l->job_count) {
    napi_throw_error(env, NULL, "hsm-bench native loop: closed, or no such job");
    return NULL;
  }
  return &l->jobs[i];
}

static void free_table(bytes_t *table, uint32_t count) {
  if (table == NULL) return;
  for (uint32_t i = 0; i < count; i++) free(table[i].data);
  free(table);
}

/** Copies an array of Buffers (a job's table) out of JS: the threads read it while JS may collect the originals. */
static bytes_t *get_table(napi_env env, napi_value array, uint32_t *count) {
  napi_value element;
  *count = 0;
  if (napi_get_array_length(env, array, count) != napi_ok || *count == 0) {
    *count = 0;
    return NULL;
  }
  bytes_t *table = calloc(*count, sizeof(bytes_t));
  for (uint32_t i = 0; table != NULL && i < *count; i++) {
    void *data = NULL;
    size_t length = 0;
    napi_get_element(env, array, i, &element);
    napi_get_buffer_info(env, element, &data, &length);
    table[i].data = malloc(length > 0 ? length : 1);
    if (table[i].data == NULL) {
      free_table(table, i);
      return NULL;
    }
    if (length > 0) memcpy(table[i].data, data, length);
    table[i].length = (CK_ULONG)length;
  }
  return table;
}

static void stop_loop(loop_t *l) {
  pthread_mutex_lock(&l->mutex);
  __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&l->changed);
  pthread_mutex_unlock(&l->mutex);
}

/**
 * Stops and joins the threads and frees the rings; the JS side calls it once every job is done. A thread whose job
 * was abandoned may never return: it is detached, and the loop's memory, which it may still touch, is kept.
 */
static void close_loop(loop_t *l) {
  if (l->closed) return;
  l->closed = 1;
  stop_loop(l);
  if (l->abandoned) {
    for (int i = 0; i < l->job_count; i++) {
      if (!l->jobs[i].started) continue;
      if (__atomic_load_n(&l->jobs[i].call_begin_ns, __ATOMIC_ACQUIRE) == CALL_ABANDONED) pthread_detach(l->jobs[i].thread);
      else pthread_join(l->jobs[i].thread, NULL);
    }
    return;
  }
  for (int i = 0; i < l->job_count; i++) {
    if (l->jobs[i].started) pthread_join(l->jobs[i].thread, NULL);
    free(l->jobs[i].records);
    free(l->jobs[i].outputs);
    for (int o = 0; o < MAX_OPERATIONS; o++) {
      free_table(l->jobs[i].rows[o], l->jobs[i].row_count[o]);
      free_table(l->jobs[i].aux[o], l->jobs[i].aux_count[o]);
    }
  }
  free(l->jobs);
  l->jobs = NULL;
  l->job_count = 0;
}

/** Also when the JS side drops a loop it never closed (an exception on the way). */
static void finalize_loop(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  loop_t *l = data;
  close_loop(l);
  if (l->abandoned) return;
  pthread_cond_destroy(&l->changed);
  pthread_mutex_destroy(&l->mutex);
  free(l);
}

static napi_value close_(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  close_loop(loop_of(env, argv[0]));
  return NULL;
}

/** One operation of the spec: its call, mechanism with parameters, and input recipe; 0 for one it does not make. */
static int parse_operation(napi_env env, napi_value spec, operation_t *op) {
  napi_value v;
  op->call = (int)get_int(env, spec, "call");
  op->input = (int)get_int(env, spec, "input");
  op->output_bytes = (CK_ULONG)get_int(env, spec, "outputBytes");
  op->mechanism.mechanism = (CK_MECHANISM_TYPE)get_int(env, spec, "mechanism");
  napi_get_named_property(env, spec, "parameter", &v);
  switch ((int)get_int(env, v, "kind")) {
  case PARAM_PSS:
    op->pss.hashAlg = (CK_MECHANISM_TYPE)get_int(env, v, "hashAlg");
    op->pss.mgf = (CK_RSA_PKCS_MGF_TYPE)get_int(env, v, "mgf");
    op->pss.sLen = (CK_ULONG)get_int(env, v, "saltLen");
    op->mechanism.pParameter = &op->pss;
    op->mechanism.ulParameterLen = sizeof op->pss;
    break;
  case PARAM_OAEP:
    op->oaep.hashAlg = (CK_MECHANISM_TYPE)get_int(env, v, "hashAlg");
    op->oaep.mgf = (CK_RSA_PKCS_MGF_TYPE)get_int(env, v, "mgf");
    op->oaep.source = CKZ_DATA_SPECIFIED;
    op->mechanism.pParameter = &op->oaep;
    op->mechanism.ulParameterLen = sizeof op->oaep;
    break;
  case PARAM_IV:
  case PARAM_GCM: {
    napi_value iv;
    void *iv_data = NULL;
    size_t iv_length = 0;
    napi_get_named_property(env, v, "iv", &iv);
    napi_get_buffer_info(env, iv, &iv_data, &iv_length);
    if (iv_length > sizeof op->iv) iv_length = sizeof op->iv;
    memcpy(op->iv, iv_data, iv_length);
    if (get_int(env, v, "kind") == PARAM_IV) {
      op->mechanism.pParameter = op->iv;
      op->mechanism.ulParameterLen = iv_length;
    } else {
      op->gcm.pIv = op->iv;
      op->gcm.ulIvLen = iv_length;
      op->gcm.ulIvBits = iv_length * 8;
      op->gcm.ulTagBits = (CK_ULONG)get_int(env, v, "tagBits");
      op->mechanism.pParameter = &op->gcm;
      op->mechanism.ulParameterLen = sizeof op->gcm;
    }
    break;
  }
  }
  return op->call >= CALL_SIGN && op->call <= CALL_RANDOM;
}

/**
 * start(modulePath, spec): loads the module (the instance the JS side initialized), starts one thread per job.
 * spec: { operations: [{ call, mechanism, parameter: { kind, …its fields }, input, outputBytes }], cumulative, bufferBytes, keptBytes,
 * keepEvery, durationNs, sharedTotal, recovery, ringBytes, schedule: { intervalNs, calls (-1: until the deadline) } or null,
 * jobs: [{ session, keys: [per operation], seed, rows: [per operation], aux: [per operation], warmup, firstSequence, count }] }
 */
static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t path_len;
  CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len));
  void *lib = dlopen(path, RTLD_NOW);
  CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
  CK_FUNCTION_LIST_PTR f = NULL;
  if (get == NULL || get(&f) != CKR_OK) {
    napi_throw_error(env, NULL, "the native loop cannot load the module");
    return NULL;
  }
  napi_value spec = argv[1], jobs;
  loop_t *l = calloc(1, sizeof *l);
  l->f = f;
  napi_value operations, cumulative;
  uint32_t op_count = 0;
  napi_get_named_property(env, spec, "operations", &operations);
  napi_get_named_property(env, spec, "cumulative", &cumulative);
  napi_get_array_length(env, operations, &op_count);
  if (op_count == 0 || op_count > MAX_OPERATIONS) {
    free(l);
    napi_throw_error(env, NULL, "the native loop takes 1 to 16 operations");
    return NULL;
  }
  l->op_count = (int)op_count;
  for (uint32_t o = 0; o < op_count; o++) {
    napi_value op_spec, weight;
    napi_get_element(env, operations, o, &op_spec);
    napi_get_element(env, cumulative, o, &weight);
    int64_t w = 0;
    napi_get_value_int64(env, weight, &w);
    l->cumulative[o] = (uint32_t)w;
    if (!parse_operation(env, op_spec, &l->ops[o])) {
      free(l);
      napi_throw_error(env, NULL, "the native loop was given an operation it does not make");
      return NULL;
    }
  }
  l->buffer_bytes = (uint32_t)get_int(env, spec, "bufferBytes");
  l->kept_bytes = (uint32_t)get_int(env, spec, "keptBytes");
  for (int o = 0; o < l->op_count; o++) {
    if (l->ops[o].output_bytes > l->kept_bytes || l->kept_bytes >= l->buffer_bytes) {
      free(l);
      napi_throw_error(env, NULL, "the native loop was given an output size its buffers do not hold");
      return NULL;
    }
  }
  l->keep_every = get_int(env, spec, "keepEvery");
  l->duration_ns = get_int(env, spec, "durationNs");
  l->shared_total = get_int(env, spec, "sharedTotal");
  l->recovery = (int)get_int(env, spec, "recovery");
  napi_value schedule;
  napi_valuetype schedule_type;
  napi_get_named_property(env, spec, "schedule", &schedule);
  napi_typeof(env, schedule, &schedule_type);
  l->calls_limit = -1;
  if (schedule_type == napi_object) {
    napi_value interval;
    napi_get_named_property(env, schedule, "intervalNs", &interval);
    napi_get_value_double(env, interval, &l->interval_ns);
    l->calls_limit = get_int(env, schedule, "calls");
  }
  int64_t ring_bytes = get_int(env, spec, "ringBytes");
  pthread_mutex_init(&l->mutex, NULL);
  pthread_condattr_t cond_attr;
  pthread_condattr_init(&cond_attr);
  pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
  pthread_cond_init(&l->changed, &cond_attr);
  pthread_condattr_destroy(&cond_attr);
  uint32_t n;
  napi_get_named_property(env, spec, "jobs", &jobs);
  napi_get_array_length(env, jobs, &n);
  l->job_count = (int)n;
  l->jobs = calloc(n > 0 ? n : 1, sizeof(job_t));
  if (l->jobs == NULL) {
    free(l);
    napi_throw_error(env, NULL, "the native loop cannot allocate its jobs (out of memory)");
    return NULL;
  }
  size_t slot_bytes = sizeof(record_t) + (l->keep_every > 0 ? l->kept_bytes : 0);
  uint32_t slots = (uint32_t)(ring_bytes / (int64_t)slot_bytes / (n > 0 ? n : 1));
  /* At least a batch and a half: the JS side drains a ring once it holds a batch (256) or every 100 ms. */
  if (slots < 384) slots = 384;
  napi_value external;
  CHECK(napi_create_external(env, l, finalize_loop, NULL, &external));
  for (uint32_t i = 0; i < n; i++) {
    job_t *j = &l->jobs[i];
    napi_value job, seed;
    napi_get_element(env, jobs, i, &job);
    j->loop = l;
    j->index = (int)i;
    j->session = get_handle(env, job, "session");
    get_keys(env, job, j);
    void *seed_data;
    size_t seed_len;
    napi_get_named_property(env, job, "seed", &seed);
    if (napi_get_buffer_info(env, seed, &seed_data, &seed_len) == napi_ok) memcpy(j->seed, seed_data, seed_len < SEED_BYTES ? seed_len : SEED_BYTES);
    j->seed_word = (uint32_t)j->seed[0] << 24 | (uint32_t)j->seed[1] << 16 | (uint32_t)j->seed[2] << 8 | j->seed[3];
    napi_value rows, aux, element;
    napi_get_named_property(env, job, "rows", &rows);
    napi_get_named_property(env, job, "aux", &aux);
    for (int o = 0; o < l->op_count; o++) {
      napi_get_element(env, rows, (uint32_t)o, &element);
      j->rows[o] = get_table(env, element, &j->row_count[o]);
      napi_get_element(env, aux, (uint32_t)o, &element);
      j->aux[o] = get_table(env, element, &j->aux_count[o]);
      if ((l->ops[o].input == INPUT_TABLE && j->rows[o] == NULL) || (l->ops[o].call == CALL_VERIFY && j->aux[o] == NULL)) {
        napi_throw_error(env, NULL, "the native loop was given no input table for a job whose operation needs one");
        return NULL;
      }
    }
    j->warmup = (long)get_int(env, job, "warmup");
    j->first_sequence = get_int(env, job, "firstSequence");
    j->count = get_int(env, job, "count");
    j->slots = slots;
    j->records = calloc(slots, sizeof(record_t));
    j->outputs = l->keep_every > 0 ? malloc((size_t)slots * l->kept_bytes) : NULL;
    if (j->records == NULL || (l->keep_every > 0 && j->outputs == NULL)) {
      napi_throw_error(env, NULL, "the native loop cannot allocate its record rings (out of memory)");
      return NULL;
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    job_t *j = &l->jobs[i];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* The loop needs little stack; a vendor module may need more. 1 MiB of address space each, of which only the
       pages touched cost memory, keeps thousands of jobs cheap. */
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    int err = pthread_create(&j->thread, &attr, run_job, j);
    pthread_attr_destroy(&attr);
    if (err != 0) {
      /* The threads already started are stopped and joined before the JS side closes their sessions. */
      close_loop(l);
      napi_throw_error(env, NULL, "the native loop cannot start a thread");
      return NULL;
    }
    j->started = 1;
  }
  return external;
}

/** release(loop, startNs): opens the barrier; every job's measured window starts at startNs (process.hrtime). */
static napi_value release(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  loop_t *l = loop_of(env, argv[0]);
  int64_t start_ns;
  bool lossless;
  CHECK(napi_get_value_bigint_int64(env, argv[1], &start_ns, &lossless));
  pthread_mutex_lock(&l->mutex);
  l->start_ns = start_ns;
  l->released = 1;
  pthread_cond_broadcast(&l->changed);
  pthread_mutex_unlock(&l->mutex);
  return NULL;
}

static napi_value stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  stop_loop(loop_of(env, argv[0]));
  return NULL;
}

/**
 * states(loop, states, available, callBeginNs): each job's JOB_* state, how many records wait in its ring
 * (Int32Arrays), and when its call in flight began (process.hrtime ns; 0 when it is not in a call).
 */
static napi_value states(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  loop_t *l = loop_of(env, argv[0]);
  if (l == NULL || l->closed) {
    napi_throw_error(env, NULL, "hsm-bench native loop: closed");
    return NULL;
  }
  int32_t *into, *available;
  double *begins;
  size_t length, available_length, begins_length;
  CHECK(napi_get_typedarray_info(env, argv[1], NULL, &length, (void **)&into, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[2], NULL, &available_length, (void **)&available, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[3], NULL, &begins_length, (void **)&begins, NULL, NULL));
  pthread_mutex_lock(&l->mutex);
  for (int i = 0; i < l->job_count && (size_t)i < length && (size_t)i < available_length && (size_t)i < begins_length; i++) {
    job_t *j = &l->jobs[i];
    /* A parked job already told to go on is not parked any more, even before its thread wakes up: seen as parked,
       it would be reconnected a second time, closing the session it was just given. */
    into[i] = j->state == JOB_PARKED && j->park != PARK_WAIT ? JOB_RUNNING : j->state;
    available[i] = (int32_t)(__atomic_load_n(&j->head, __ATOMIC_ACQUIRE) - j->tail);
    int64_t begin = __atomic_load_n(&j->call_begin_ns, __ATOMIC_ACQUIRE);
    begins[i] = begin > 0 ? (double)begin : 0;
  }
  pthread_mutex_unlock(&l->mutex);
  return NULL;
}

/**
 * abandon(loop, job, nowNs, record): gives up the job's call in flight, which has not returned (the watchdog's
 * decision): with `record`, a measured call is written to the ring as CALL_TIMED_OUT (its claim on a shared total
 * given back: a failure); the job ends (JOB_ABANDONED) without its thread. False when the call returned meanwhile,
 * or when its record finds no room yet (drain the ring and ask again).
 */
static napi_value abandon(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  loop_t *l = j->loop;
  int64_t now;
  bool lossless, record;
  CHECK(napi_get_value_bigint_int64(env, argv[2], &now, &lossless));
  CHECK(napi_get_value_bool(env, argv[3], &record));
  int done = 0;
  pthread_mutex_lock(&l->mutex);
  int64_t begin = __atomic_load_n(&j->call_begin_ns, __ATOMIC_ACQUIRE);
  int measured = j->call_measured;
  /* The ring's only writer is the job's thread until the exchange below succeeds; then it is this one. */
  int room = j->head - __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE) < j->slots;
  if (begin > 0 && (room || !record || !measured) && __atomic_compare_exchange_n(&j->call_begin_ns, &begin, CALL_ABANDONED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    if (record && measured) {
      write_record(l, j, begin - l->start_ns, now - begin, j->call_lag_ns, j->call_late, CALL_TIMED_OUT, j->call_operation, NULL, 0);
      if (l->shared_total >= 0) __atomic_sub_fetch(&l->claimed, 1, __ATOMIC_SEQ_CST);
    }
    l->abandoned = 1;
    j->state = JOB_ABANDONED;
    done = 1;
  }
  pthread_mutex_unlock(&l->mutex);
  CHECK(napi_get_boolean(env, done, &result));
  return result;
}

/** exitNow(code): ends the process at once (_exit), for a process with threads stuck inside the module; its files must be written first. */
static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_get_value_int32(env, argv[0], &code);
  _exit(code);
}

/**
 * drain(loop, job, startOffsetNs, latencyNs, status, kept, outputBytes, outputs, operation, startLagNs, late): moves up
 * to the arrays' length of the job's records into them (kept outputs packed one after the other, as SignatureBatch
 * keeps them); returns the count.
 */
static napi_value drain(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  loop_t *l = j->loop;
  double *offsets, *latencies, *lags;
  int32_t *statuses;
  uint16_t *output_bytes;
  uint8_t *kept, *outputs, *operations, *lates;
  size_t capacity, outputs_capacity, ignored;
  CHECK(napi_get_typedarray_info(env, argv[2], NULL, &capacity, (void **)&offsets, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[3], NULL, &ignored, (void **)&latencies, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[4], NULL, &ignored, (void **)&statuses, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[5], NULL, &ignored, (void **)&kept, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[6], NULL, &ignored, (void **)&output_bytes, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[7], NULL, &outputs_capacity, (void **)&outputs, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[8], NULL, &ignored, (void **)&operations, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[9], NULL, &ignored, (void **)&lags, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[10], NULL, &ignored, (void **)&lates, NULL, NULL));
  uint64_t tail = j->tail, head = __atomic_load_n(&j->head, __ATOMIC_ACQUIRE);
  size_t count = 0, packed = 0;
  for (; tail < head && count < capacity; tail++, count++) {
    uint32_t slot = (uint32_t)(tail % j->slots);
    record_t *r = &j->records[slot];
    if (packed + r->output_bytes > outputs_capacity) break;
    offsets[count] = (double)r->offset_ns;
    latencies[count] = (double)r->latency_ns;
    statuses[count] = r->status;
    kept[count] = r->kept;
    output_bytes[count] = r->output_bytes;
    operations[count] = r->operation;
    /* NaN: no schedule, as the JS loop marks it. */
    lags[count] = r->lag_ns < 0 ? NAN : (double)r->lag_ns;
    lates[count] = r->late;
    if (r->kept) memcpy(outputs + packed, j->outputs + (size_t)slot * l->kept_bytes, r->output_bytes);
    packed += r->output_bytes;
  }
  __atomic_store_n(&j->tail, tail, __ATOMIC_RELEASE);
  if (count > 0) {
    pthread_mutex_lock(&l->mutex);
    pthread_cond_broadcast(&l->changed);
    pthread_mutex_unlock(&l->mutex);
  }
  napi_value result;
  CHECK(napi_create_uint32(env, (uint32_t)count, &result));
  return result;
}

/** parkedSince(loop, job): the start time (process.hrtime ns) of the call that parked the job. */
static napi_value parked_since(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  pthread_mutex_lock(&j->loop->mutex);
  int64_t at = j->parked_at_ns;
  pthread_mutex_unlock(&j->loop->mutex);
  CHECK(napi_create_bigint_int64(env, at, &result));
  return result;
}

/** resume(loop, job, {session, keys}) goes on with a reconnected session; resume(loop, job, null) ends the job. */
static napi_value resume(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  loop_t *l = j->loop;
  napi_valuetype type;
  napi_typeof(env, argv[2], &type);
  pthread_mutex_lock(&l->mutex);
  if (type == napi_object) {
    j->session = get_handle(env, argv[2], "session");
    get_keys(env, argv[2], j);
    j->park = PARK_RESUME;
  } else {
    j->park = PARK_END;
  }
  pthread_cond_broadcast(&l->changed);
  pthread_mutex_unlock(&l->mutex);
  return NULL;
}

/** gaveUp(loop, job): why the job stopped early on its own, or undefined. */
static napi_value gave_up(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  if (__atomic_load_n(&j->state, __ATOMIC_ACQUIRE) == JOB_DONE && j->gave_up[0] != 0) CHECK(napi_create_string_utf8(env, j->gave_up, NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, release, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL},
      {"states", NULL, states, NULL, NULL, NULL, napi_default, NULL},
      {"drain", NULL, drain, NULL, NULL, NULL, napi_default, NULL},
      {"parkedSince", NULL, parked_since, NULL, NULL, NULL, napi_default, NULL},
      {"resume", NULL, resume, NULL, NULL, NULL, napi_default, NULL},
      {"gaveUp", NULL, gave_up, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_, NULL, NULL, NULL, napi_default, NULL},
      {"abandon", NULL, abandon, NULL, NULL, NULL, napi_default, NULL},
      {"exitNow", NULL, exit_now, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
