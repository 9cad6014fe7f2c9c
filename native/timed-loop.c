/*
 * The timed loop in native threads: one pthread per job (a session on a token), each timing one PKCS#11 call of the
 * workload's operations in a loop and writing fixed-size records (and the outputs kept for the host check) into a
 * ring of its own that the JS side drains into call batches.
 *
 * Why: one Node worker thread per session costs an isolate each. At 64 tokens x 4 sessions, each signature held
 * 100 ms in the module, worker threads reached 0.945 of a C pthread loop with 2,855 MB peak RSS and 14 s before the
 * first signature (bench/many-sessions); a pthread costs its stack. Everything but the timed call stays in JS
 * (pkcs11js): the module's initialization, sessions, login and the PIN rule, key lookup, reconnects, recording and
 * verification. A job whose call fails in a run with recovery parks until the JS side has reconnected it (a new
 * session and key handles) or given it up.
 *
 * The module must be the instance the JS side initialized and logged in: dlopen of the same file returns the same
 * library, so this is only used for modules whose loads share one instance.
 *
 * The boundary: codes and sizes both sides use come from native/abi.json (the generated native-abi.h here,
 * src/core/native-abi.ts there); the addon reports the digest of its sources (`abi`), which the loader
 * (src/core/native-addon.ts) checks, so a stale build is refused, never used. Every field JS hands over is read by
 * a getter that throws naming the field when it is missing or of another type or range, so a renamed field fails
 * instead of reading as 0.
 *
 * What a job calls and with what input comes from the operation (src/model/workload.ts, nativeTimedCall): `call`
 * names the PKCS#11 call (sign, verify, decrypt, encrypt, digest, random, derive, keygen), the mechanism is given
 * with its parameters (PSS, OAEP, an IV, GCM, ECDH), and the input is the operation's recipe: the message (the job's seed followed
 * by the signed 64-bit big-endian sequence number, optionally hashed with SHA-256 and wrapped in the PKCS#1
 * DigestInfo), a row of the job's table (row = sequence modulo the rows: ciphertexts, or data and signature for
 * verify), or nothing. The message, the mix draw and the schedule's intended start have JS twins (src/model/
 * message.ts, workload.ts, schedule.ts) for the worker threads; `twins` exposes these for test/native-parity.test.ts.
 *
 * With a schedule (an open-loop target rate, src/model/schedule.ts), the jobs take the configuration's calls from
 * one counter: call k is intended to start k x interval after the window opens. A job that takes a call before its
 * time waits for it; one that takes it after its time (no session was free) starts it at once, late. Each record
 * keeps how long after its intended start the call began, so that response time = start lag + service time.
 *
 * derive (C_DeriveKey) and keygen (C_GenerateKeyPair) make session objects from templates handed over once at start.
 * Only that call is timed; after the clock stops, the attribute the host checks (the derived CKA_VALUE, the public
 * CKA_EC_POINT or CKA_MODULUS) is read back as the output and every object made is destroyed (finish_call), as the
 * worker threads do (src/pkcs11/timed-call.ts): a value the token will not show is not checked, an object that
 * cannot be destroyed fails the call.
 *
 * Every output is checked against the buffer given and the sizes the operation makes (its outputBytes): a module
 * that answers CKR_OK with another size (an empty signature, a length over the buffer) makes a WRONG_OUTPUT_SIZE
 * failure, and nothing of it is copied. C_GenerateRandom is asked for exactly that size. Whether an output was kept
 * for the host check is a flag of its own in the record, never read from its length.
 *
 * A call that never returns: each job publishes when its call in flight began; the JS side's watchdog may abandon
 * it (abandon()), which records the call as CALL_TIMED_OUT in the job's ring and ends the job without its thread.
 * The thread, if it ever comes back, sees it was abandoned and ends without touching the ring. Such a thread cannot
 * be joined, and its loop's memory is never freed; the process leaves with exitNow() (_exit) once its results are
 * written: exit() would run the module's destructors under it, and Node's exit would wait for it forever.
 *
 * A job's state is written by its thread and by abandon(), and read by states() and gaveUp(): always with atomics
 * (job_state, set_job_state).
 */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <node_api.h>
/* SHA256_Init/Update/Final: the fastest SHA-256 of a short message in OpenSSL 3 (see sha256 below). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
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
#include "native-abi.h"

/** What the JS side decided for a parked job (only this file's). */
enum { PARK_WAIT = 0, PARK_RESUME = 1, PARK_END = 2 };
/** call_begin_ns of a job whose call was abandoned (0: not in a call). */
#define CALL_ABANDONED (-1)
/** Room for the batches a job has drained and the JS side not yet recorded: more than the run control lets wait (8). */
#define DRAINED_MAX 64

/** A ring holds at least a batch and a half: the JS side drains one once it holds a batch, or every 100 ms. */
#define MIN_RING_SLOTS (BATCH_CAPACITY * 3 / 2)
/** The largest message recipe: the DigestInfo prefix and a SHA-256. */
#define MAX_MESSAGE_INPUT_BYTES (SHA256_DIGEST_INFO_PREFIX_LENGTH + SHA256_DIGEST_LENGTH)
/** Integers JS hands over are doubles: beyond 2^53 they are no longer exact. */
#define MAX_SAFE_INTEGER 9007199254740991LL
/** The sizes an operation's output may have: an EC point read back comes DER-wrapped or bare. */
#define MAX_OUTPUT_SIZES 4
/** Templates of one operation: keygen's public and private key; derive's derived key. */
#define MAX_TEMPLATES 2
/** Attributes of one template: more is a mistake, not a template. */
#define MAX_TEMPLATE_ATTRIBUTES 64
/** The length of an output the token would not show (a sensitive derived secret): the call counts, its output is not checked. */
#define OUTPUT_NOT_SHOWN ((CK_ULONG)-1)

static const unsigned char DIGEST_INFO_SHA256[SHA256_DIGEST_INFO_PREFIX_LENGTH] = SHA256_DIGEST_INFO_PREFIX;

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
  /* ECDH: the key derivation function; the public point is the call's row. */
  CK_EC_KDF_TYPE kdf;
  int input;
  /* The sizes of the output the operation makes (the first is the size C_GenerateRandom is asked for); any other is
     a WRONG_OUTPUT_SIZE failure. */
  CK_ULONG output_sizes[MAX_OUTPUT_SIZES];
  int output_size_count;
  /* derive: the derived key's template; keygen: the public key's, then the private key's. Read-only once parsed. */
  CK_ATTRIBUTE *templates[MAX_TEMPLATES];
  CK_ULONG template_length[MAX_TEMPLATES];
  /* derive and keygen: the attribute of the first object made that is read back as the output. */
  CK_ATTRIBUTE_TYPE read_back;
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
  int64_t warmup;
  int64_t first_sequence;
  int64_t count; /* -1: no count of its own */
  /* The ring: written by the job's thread at head, drained by the JS thread at tail. */
  record_t *records;
  unsigned char *outputs; /* slots x kept_bytes when outputs are kept, else NULL */
  uint32_t slots;
  uint64_t head, tail;
  /* Batches drained from the ring and not yet recorded (recorded() pops them, in order): when the first call of each
     ended (ns from the window's start). Pushed before the ring's tail moves, so the job's thread sees every call not
     yet recorded in one or the other. */
  int64_t drained_end_ns[DRAINED_MAX];
  uint64_t drained_head, drained_tail;
  int state; /* JOB_*: only through job_state and set_job_state */
  int park;  /* PARK_* : what the JS side decided for a parked job */
  int64_t parked_at_ns;
  int gave_up; /* GAVE_UP_*: written before the state becomes JOB_DONE */
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
  int64_t duration_ns;   /* -1: none */
  int64_t shared_total;  /* -1: none */
  /* A job makes no call while its oldest call not yet recorded ended this long ago (-1: no bound; see hold_while_behind). */
  int64_t unrecorded_max_ns;
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

static int job_state(job_t *j) { return __atomic_load_n(&j->state, __ATOMIC_ACQUIRE); }
static void set_job_state(job_t *j, int state) { __atomic_store_n(&j->state, state, __ATOMIC_RELEASE); }

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

/* ---- SHA-256 of a message ----
 * OpenSSL 3's one-shot SHA256() looks its implementation up in the provider store on every call: 0.25 µs of the
 * native loop's 0.29 µs per call (the calibration's null calls), and a lock the jobs' threads share. EVP with the
 * digest fetched once still allocates per digest (0.10-0.15 µs); the low-level functions (deprecated in OpenSSL 3,
 * present in every 3.x) hash on the stack in 0.05-0.10 µs. */
static void sha256(const unsigned char *data, size_t length, unsigned char *out) {
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, data, length);
  SHA256_Final(out, &context);
}
/* ---- end of SHA-256 ---- */

/** The input of call `sequence` under a message recipe (INPUT_MESSAGE, INPUT_SHA256, INPUT_SHA256_DIGESTINFO), into
    `into` (MAX_MESSAGE_INPUT_BYTES); its length. The twin of messageFor and hostInput (src/model/). */
static CK_ULONG message_input(const unsigned char *seed, int recipe, int64_t sequence, unsigned char *into) {
  unsigned char message[MESSAGE_BYTES];
  memcpy(message, seed, SEED_BYTES);
  uint64_t s = (uint64_t)sequence;
  for (int i = 0; i < 8; i++) message[SEED_BYTES + i] = (unsigned char)(s >> (56 - 8 * i));
  if (recipe == INPUT_MESSAGE) {
    memcpy(into, message, MESSAGE_BYTES);
    return MESSAGE_BYTES;
  }
  if (recipe == INPUT_SHA256) {
    sha256(message, MESSAGE_BYTES, into);
    return SHA256_DIGEST_LENGTH;
  }
  memcpy(into, DIGEST_INFO_SHA256, sizeof DIGEST_INFO_SHA256);
  sha256(message, MESSAGE_BYTES, into + sizeof DIGEST_INFO_SHA256);
  return sizeof DIGEST_INFO_SHA256 + SHA256_DIGEST_LENGTH;
}

static uint32_t row_of(int64_t sequence, uint32_t rows) { return (uint32_t)(((sequence % rows) + rows) % rows); }

/** The first 4 bytes of a job's seed, big-endian: the mix draw's key (the twin of seedWord). */
static uint32_t seed_word_of(const unsigned char *seed) { return (uint32_t)seed[0] << 24 | (uint32_t)seed[1] << 16 | (uint32_t)seed[2] << 8 | seed[3]; }

/** The operation of call `sequence` (murmur3's finalizer over the seed word and the 64-bit sequence number): the twin
    of pickOperation in src/model/workload.ts. */
static int pick_operation(const uint32_t *cumulative, int count, uint32_t seed_word, int64_t sequence) {
  if (count == 1) return 0;
  uint64_t s = (uint64_t)sequence;
  uint32_t h = seed_word ^ ((uint32_t)s * 0x9e3779b1u) ^ ((uint32_t)(s >> 32) * 0x85ebca77u);
  h = (h ^ (h >> 16)) * 0x85ebca6bu;
  h = (h ^ (h >> 13)) * 0xc2b2ae35u;
  h ^= h >> 16;
  uint32_t draw = h % cumulative[count - 1];
  int i = 0;
  while (draw >= cumulative[i]) i++;
  return i;
}

static int pick(loop_t *l, job_t *j, int64_t sequence) { return pick_operation(l->cumulative, l->op_count, j->seed_word, sequence); }

/** Call k's intended start, in ns after the window opens: the twin of intendedOffsetNs in src/model/schedule.ts
    (k >= 0, so llround's halves away from zero are Math.round's halves up). */
static int64_t intended_offset_ns(double interval_ns, int64_t k) { return (int64_t)llround((double)k * interval_ns); }

/** The timed call of operation `o`; `made` receives the objects a derive or keygen call made (their count in `made_count`). */
static CK_RV call_once(loop_t *l, job_t *j, int o, int64_t sequence, unsigned char *out, CK_ULONG *out_len, CK_OBJECT_HANDLE *made, int *made_count) {
  operation_t *op = &l->ops[o];
  CK_OBJECT_HANDLE key = j->keys[o];
  unsigned char message[MAX_MESSAGE_INPUT_BYTES];
  unsigned char *data = message;
  CK_ULONG data_len = 0;
  if (op->input == INPUT_TABLE) {
    bytes_t *row = &j->rows[o][row_of(sequence, j->row_count[o])];
    data = row->data;
    data_len = row->length;
  } else if (op->input != INPUT_NONE) {
    data_len = message_input(j->seed, op->input, sequence, message);
  }
  *out_len = l->buffer_bytes;
  *made_count = 0;
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
    /* The length asked is the length made (C_GenerateRandom reports none); start() checked it fits the buffer. */
    *out_len = op->output_sizes[0];
    rv = l->f->C_GenerateRandom(j->session, out, *out_len);
    break;
  case CALL_DERIVE: {
    /* The host's public point (the row) is this call's part of the parameters. */
    CK_ECDH1_DERIVE_PARAMS params = {op->kdf, 0, NULL, data_len, data};
    CK_MECHANISM mechanism = {op->mechanism.mechanism, &params, sizeof params};
    rv = l->f->C_DeriveKey(j->session, &mechanism, key, op->templates[0], op->template_length[0], &made[0]);
    if (rv == CKR_OK) *made_count = 1;
    break;
  }
  case CALL_KEYGEN:
    rv = l->f->C_GenerateKeyPair(j->session, &op->mechanism, op->templates[0], op->template_length[0], op->templates[1], op->template_length[1], &made[0], &made[1]);
    if (rv == CKR_OK) *made_count = 2;
    break;
  case CALL_NULL:
    /* No PKCS#11 call: the calibration times the loop around it (clock reads, input, record, ring). */
    *out_len = op->output_sizes[0];
    break;
  default:
    rv = CKR_FUNCTION_NOT_SUPPORTED;
  }
  return rv;
}

static int output_fits(const operation_t *op, CK_ULONG length) {
  for (int i = 0; i < op->output_size_count; i++)
    if (op->output_sizes[i] == length) return 1;
  return 0;
}

/**
 * After the clock stopped: the objects a derive or keygen call made are read back (the operation's attribute of the
 * first, into `out`) and destroyed, as readAndDestroy in src/pkcs11/timed-call.ts does; then the output's size is
 * checked. The call's status: a failure to destroy fails it; a value the token will not show leaves *out_len
 * OUTPUT_NOT_SHOWN (not checked); an output of another size than the operation makes, or past the buffer given (a
 * module that over-reports), is WRONG_OUTPUT_SIZE.
 */
static int32_t finish_call(loop_t *l, job_t *j, int o, CK_RV rv, const CK_OBJECT_HANDLE *made, int made_count, unsigned char *out, CK_ULONG *out_len) {
  const operation_t *op = &l->ops[o];
  int too_long = 0;
  if (made_count > 0) {
    CK_ATTRIBUTE value = {op->read_back, out, l->buffer_bytes};
    CK_RV read = l->f->C_GetAttributeValue(j->session, made[0], &value, 1);
    too_long = read == CKR_BUFFER_TOO_SMALL;
    *out_len = read == CKR_OK ? value.ulValueLen : OUTPUT_NOT_SHOWN;
    for (int i = 0; i < made_count; i++) {
      CK_RV destroyed = l->f->C_DestroyObject(j->session, made[i]);
      if (rv == CKR_OK) rv = destroyed;
    }
  }
  if (rv == CKR_OK && (too_long || (*out_len != OUTPUT_NOT_SHOWN && (*out_len > l->buffer_bytes || !output_fits(op, *out_len))))) return STATUS_WRONG_OUTPUT_SIZE;
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

/** Appends a record; waits while the ring is full (the JS side drains every few ms) unless the run is stopping.
    1 if it had to wait: the next call's start must then be read from the clock afresh. */
static int push(loop_t *l, job_t *j, int64_t offset_ns, int64_t latency_ns, int64_t lag_ns, int late, int32_t status, int operation, const unsigned char *out, CK_ULONG out_len) {
  uint64_t head = j->head;
  if (head - __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE) == j->slots) {
    pthread_mutex_lock(&l->mutex);
    while (head - __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE) == j->slots && !stopping(l)) wait_changed(l, 10);
    pthread_mutex_unlock(&l->mutex);
    if (head - __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE) == j->slots) {
      /* Stopping with the ring still full (the JS side has stopped draining): the call is not recorded, and a
         successful one gives its claim on a shared total back, so that counts stay those of the records. */
      if (status == 0 && l->shared_total >= 0) __atomic_sub_fetch(&l->claimed, 1, __ATOMIC_SEQ_CST);
      return 1;
    }
    write_record(l, j, offset_ns, latency_ns, lag_ns, late, status, operation, out, out_len);
    return 1;
  }
  write_record(l, j, offset_ns, latency_ns, lag_ns, late, status, operation, out, out_len);
  return 0;
}

/** When the job's oldest call not yet recorded ended (ns from the window's start), or -1: every call is recorded. */
static int64_t oldest_unrecorded_ns(job_t *j) {
  uint64_t drained_tail = __atomic_load_n(&j->drained_tail, __ATOMIC_ACQUIRE);
  if (drained_tail != __atomic_load_n(&j->drained_head, __ATOMIC_ACQUIRE)) return j->drained_end_ns[drained_tail % DRAINED_MAX];
  uint64_t tail = __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE);
  if (tail == j->head) return -1;
  record_t *r = &j->records[tail % j->slots];
  return r->offset_ns + r->latency_ns;
}

/** Whether, at `now` (monotonic ns), the job's oldest call not yet recorded ended unrecorded_max_ns ago or more. */
static int behind(loop_t *l, job_t *j, int64_t start_ns, int64_t now) {
  int64_t oldest = oldest_unrecorded_ns(j);
  return oldest >= 0 && now - start_ns - oldest >= l->unrecorded_max_ns;
}

/** A burn-in's job makes no call while its oldest call not yet recorded is too old (the host check fell behind):
    a kill loses what was made and not written, which stays bounded in time. `known_now_ns`: the previous call's
    end where the loop carries it (now, to within its bookkeeping: no clock read per call), else -1. 1 if it had to
    wait. */
static int hold_while_behind(loop_t *l, job_t *j, int64_t start_ns, int64_t known_now_ns) {
  if (l->unrecorded_max_ns < 0 || !behind(l, j, start_ns, known_now_ns >= 0 ? known_now_ns : now_ns())) return 0;
  pthread_mutex_lock(&l->mutex);
  while (behind(l, j, start_ns, now_ns()) && !stopping(l)) wait_changed(l, 10);
  pthread_mutex_unlock(&l->mutex);
  return 1;
}

/** Waits until `at_ns` (monotonic), or less if the run stops meanwhile. */
static void wait_until(loop_t *l, int64_t at_ns) {
  struct timespec until = {(time_t)(at_ns / 1000000000LL), (long)(at_ns % 1000000000LL)};
  pthread_mutex_lock(&l->mutex);
  while (!stopping(l) && now_ns() < at_ns) pthread_cond_timedwait(&l->changed, &l->mutex, &until);
  pthread_mutex_unlock(&l->mutex);
}

/** Waits for the JS side's decision on a parked job; returns 1 to go on calling. */
static int park(loop_t *l, job_t *j, int64_t failed_at_ns) {
  pthread_mutex_lock(&l->mutex);
  j->park = PARK_WAIT;
  j->parked_at_ns = failed_at_ns;
  set_job_state(j, JOB_PARKED);
  while (j->park == PARK_WAIT && !stopping(l)) wait_changed(l, 100);
  int go_on = j->park == PARK_RESUME && !stopping(l);
  set_job_state(j, JOB_RUNNING);
  pthread_mutex_unlock(&l->mutex);
  return go_on;
}

static void *run_job(void *arg) {
  job_t *j = arg;
  loop_t *l = j->loop;
  unsigned char *out = malloc(l->buffer_bytes);
  CK_ULONG out_len;
  CK_OBJECT_HANDLE made[MAX_TEMPLATES];
  int made_count;
  if (out == NULL) {
    j->gave_up = GAVE_UP_OUT_OF_MEMORY;
    set_job_state(j, JOB_DONE);
    return NULL;
  }
  /* Warm-up calls use negative sequence numbers, so that no input of the measured window repeats. */
  for (int64_t i = 1; i <= j->warmup && !stopping(l); i++) {
    int64_t begin_ns = now_ns();
    int o = pick(l, j, -i);
    call_begins(j, begin_ns, -1, 0, o, 0);
    CK_RV rv = call_once(l, j, o, -i, out, &out_len, made, &made_count);
    finish_call(l, j, o, rv, made, made_count, out, &out_len);
    if (!call_returned(j, begin_ns)) {
      free(out);
      return NULL;
    }
  }
  pthread_mutex_lock(&l->mutex);
  set_job_state(j, JOB_READY);
  while (!l->released && !stopping(l)) wait_changed(l, 100);
  int64_t start_ns = l->start_ns;
  pthread_mutex_unlock(&l->mutex);
  set_job_state(j, JOB_RUNNING);
  int64_t deadline_ns = l->duration_ns < 0 ? -1 : start_ns + l->duration_ns;
  int64_t last = j->count < 0 ? INT64_MAX : j->first_sequence + j->count;
  int consecutive_failures = 0;
  /* The previous call's end, when nothing but this loop's own bookkeeping (its record, the next call's draw and
     publication) came between it and the next call: that call starts there, and one clock read per call times a
     closed loop. The bookkeeping, tens of ns, is then part of the next call's latency (the calibration's period
     measures it). -1: read the clock, after anything that may take longer (a wait, a park, objects read back and
     destroyed, the first call). */
  int64_t carried_ns = -1;
  for (int64_t sequence = j->first_sequence; sequence < last && !stopping(l); sequence++) {
    int64_t intended_ns = -1;
    int late = 0;
    if (l->interval_ns > 0) {
      int64_t k = __atomic_fetch_add(&l->next_call, 1, __ATOMIC_SEQ_CST);
      if (l->calls_limit >= 0 && k >= l->calls_limit) break;
      intended_ns = start_ns + intended_offset_ns(l->interval_ns, k);
      if (deadline_ns >= 0 && intended_ns >= deadline_ns) break;
      /* Late: the job was busy with its previous call at this one's intended start. A job's first call comes from the
         start barrier, not from a previous call: waking up is not queueing (its lag still counts in the response). */
      late = sequence != j->first_sequence && now_ns() > intended_ns;
      if (!late) wait_until(l, intended_ns);
      if (stopping(l)) break;
      carried_ns = -1;
    }
    if (hold_while_behind(l, j, start_ns, carried_ns)) {
      if (stopping(l)) break;
      carried_ns = -1;
    }
    int64_t begin_ns = carried_ns >= 0 ? carried_ns : now_ns();
    /* The window is over: a scheduled call that could not start in it is not made (the run reports it as not started). */
    if (deadline_ns >= 0 && begin_ns >= deadline_ns) break;
    if (l->shared_total >= 0 && !claim(l)) break;
    int which = pick(l, j, sequence);
    int64_t lag_ns = intended_ns < 0 ? -1 : begin_ns - intended_ns;
    call_begins(j, begin_ns, lag_ns, late, which, 1);
    CK_RV rv = call_once(l, j, which, sequence, out, &out_len, made, &made_count);
    int64_t end_ns = now_ns();
    int32_t status = finish_call(l, j, which, rv, made, made_count, out, &out_len);
    /* Abandoned as hung: abandon() recorded the call and gave its claim back; the job is no longer this thread's. */
    if (!call_returned(j, begin_ns)) {
      free(out);
      return NULL;
    }
    /* A shared total counts successful calls: a failed one gives its claim back. */
    if (status != 0 && l->shared_total >= 0) __atomic_sub_fetch(&l->claimed, 1, __ATOMIC_SEQ_CST);
    int keep = status == 0 && out_len != OUTPUT_NOT_SHOWN && l->keep_every > 0 && sequence % l->keep_every == 0;
    int waited = push(l, j, begin_ns - start_ns, end_ns - begin_ns, lag_ns, late, status, which, keep ? out : NULL, out_len);
    carried_ns = waited || made_count > 0 ? -1 : end_ns;
    consecutive_failures = status == 0 ? 0 : consecutive_failures + 1;
    if (status == 0) continue;
    if (l->recovery) {
      if (!park(l, j, begin_ns)) break;
      carried_ns = -1;
    } else if (consecutive_failures == MAX_CONSECUTIVE_FAILURES) {
      j->gave_up = GAVE_UP_FAILURE_LIMIT;
      break;
    }
  }
  free(out);
  set_job_state(j, JOB_DONE);
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

/* ---- What JS hands over: every field named, typed and bounded, or a TypeError that names it ---- */

/** Room for a field's path in messages ("spec.jobs[2].rows[1][7]"); a longer one is cut, which only shortens a message. */
#define PATH_BYTES 192

/** Formats a field's path into `out` (PATH_BYTES). */
static void path_of(char *out, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void path_of(char *out, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(out, PATH_BYTES, format, args);
  va_end(args);
}

/** Throws "hsm-bench native loop: PATH WHAT" (e.g. "spec.jobs[2].seed is missing") and returns false. */
static bool refuse(napi_env env, const char *path, const char *what) {
  char message[512];
  snprintf(message, sizeof message, "hsm-bench native loop: %s %s", path, what);
  napi_throw_type_error(env, NULL, message);
  return false;
}

static const char *type_name(napi_valuetype t) {
  switch (t) {
  case napi_undefined:
    return "undefined";
  case napi_null:
    return "null";
  case napi_boolean:
    return "a boolean";
  case napi_number:
    return "a number";
  case napi_string:
    return "a string";
  case napi_object:
    return "an object";
  case napi_bigint:
    return "a bigint";
  default:
    return "another kind of value";
  }
}

/** refuse() for the field `name` of the object at `where`. */
static bool refuse_field(napi_env env, const char *where, const char *name, const char *what) {
  char path[PATH_BYTES];
  path_of(path, "%s.%s", where, name);
  return refuse(env, path, what);
}

/** Checks that `v` (at `path`) is of `type`. */
static bool of_type(napi_env env, napi_value v, const char *path, napi_valuetype type) {
  napi_valuetype actual;
  if (napi_typeof(env, v, &actual) != napi_ok) return refuse(env, path, "cannot be read");
  if (actual == type) return true;
  char what[96];
  snprintf(what, sizeof what, "is %s, not %s", type_name(actual), type_name(type));
  return refuse(env, path, what);
}

/** The field `name` of `object` (at `where`) and its path; false (after throwing) when it is missing. */
static bool field(napi_env env, napi_value object, const char *where, const char *name, napi_value *out, char *path) {
  bool has = false;
  path_of(path, "%s.%s", where, name);
  if (napi_has_named_property(env, object, name, &has) != napi_ok || !has) return refuse(env, path, "is missing");
  if (napi_get_named_property(env, object, name, out) != napi_ok) return refuse(env, path, "cannot be read");
  return true;
}

/** An integer from `min` to `max` (JS hands over doubles: one with a fraction, NaN or out of range is refused). */
static bool to_integer(napi_env env, napi_value v, const char *path, int64_t min, int64_t max, int64_t *out) {
  double d;
  if (!of_type(env, v, path, napi_number)) return false;
  napi_get_value_double(env, v, &d);
  if (!(d == floor(d) && d >= (double)min && d <= (double)max)) {
    char what[128];
    snprintf(what, sizeof what, "is %.17g, not an integer from %lld to %lld", d, (long long)min, (long long)max);
    return refuse(env, path, what);
  }
  *out = (int64_t)d;
  return true;
}

/** A Buffer of `min` to `max` bytes. */
static bool to_bytes(napi_env env, napi_value v, const char *path, size_t min, size_t max, void **data, size_t *length) {
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, v, data, length) != napi_ok) return refuse(env, path, "is not a Buffer");
  if (*length < min || *length > max) {
    char what[96];
    snprintf(what, sizeof what, "has %zu bytes, not %zu to %zu", *length, min, max);
    return refuse(env, path, what);
  }
  return true;
}

/** An array of `min` to `max` elements. */
static bool to_array(napi_env env, napi_value v, const char *path, uint32_t min, uint32_t max, uint32_t *length) {
  bool is_array = false;
  napi_is_array(env, v, &is_array);
  if (!is_array || napi_get_array_length(env, v, length) != napi_ok) return refuse(env, path, "is not an array");
  if (*length < min || *length > max) {
    char what[96];
    snprintf(what, sizeof what, "has %u elements, not %u to %u", *length, min, max);
    return refuse(env, path, what);
  }
  return true;
}

static bool get_integer(napi_env env, napi_value object, const char *where, const char *name, int64_t min, int64_t max, int64_t *out) {
  napi_value v;
  char path[PATH_BYTES];
  return field(env, object, where, name, &v, path) && to_integer(env, v, path, min, max, out);
}

/** A finite number above 0. */
static bool get_positive(napi_env env, napi_value object, const char *where, const char *name, double *out) {
  napi_value v;
  char path[PATH_BYTES];
  if (!field(env, object, where, name, &v, path) || !of_type(env, v, path, napi_number)) return false;
  napi_get_value_double(env, v, out);
  return isfinite(*out) && *out > 0 ? true : refuse(env, path, "is not a finite number above 0");
}

static bool get_bool(napi_env env, napi_value object, const char *where, const char *name, bool *out) {
  napi_value v;
  char path[PATH_BYTES];
  return field(env, object, where, name, &v, path) && of_type(env, v, path, napi_boolean) && napi_get_value_bool(env, v, out) == napi_ok;
}

static bool get_object(napi_env env, napi_value object, const char *where, const char *name, napi_value *out) {
  char path[PATH_BYTES];
  return field(env, object, where, name, out, path) && of_type(env, *out, path, napi_object);
}

static bool get_array(napi_env env, napi_value object, const char *where, const char *name, uint32_t min, uint32_t max, napi_value *out, uint32_t *length) {
  char path[PATH_BYTES];
  return field(env, object, where, name, out, path) && to_array(env, *out, path, min, max, length);
}

static bool get_bytes(napi_env env, napi_value object, const char *where, const char *name, size_t min, size_t max, void **data, size_t *length) {
  napi_value v;
  char path[PATH_BYTES];
  return field(env, object, where, name, &v, path) && to_bytes(env, v, path, min, max, data, length);
}

/** A pkcs11js handle: a Buffer holding a CK_ULONG in the host's byte order. */
static bool to_handle(napi_env env, napi_value v, const char *path, CK_ULONG *out) {
  void *data;
  size_t length;
  if (!to_bytes(env, v, path, sizeof *out, sizeof *out, &data, &length)) return false;
  memcpy(out, data, sizeof *out);
  return true;
}

/** A typed array of `type` with at least `min_length` elements. */
static bool get_typed_array(napi_env env, napi_value object, const char *where, const char *name, napi_typedarray_type type, size_t min_length, void **data, size_t *length) {
  napi_value v;
  char path[PATH_BYTES];
  bool is_typed = false;
  napi_typedarray_type actual;
  if (!field(env, object, where, name, &v, path)) return false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed || napi_get_typedarray_info(env, v, &actual, length, data, NULL, NULL) != napi_ok || actual != type) return refuse(env, path, "is not a typed array of the element type the native loop writes");
  if (*length < min_length) {
    char what[96];
    snprintf(what, sizeof what, "has %zu elements, fewer than %zu", *length, min_length);
    return refuse(env, path, what);
  }
  return true;
}

/** The cumulative weights of `count` operations: each above the one before, within 32 bits (the mix draw's range). */
static bool get_cumulative(napi_env env, napi_value object, const char *where, uint32_t count, uint32_t *cumulative) {
  napi_value weights, weight;
  uint32_t length;
  char path[PATH_BYTES];
  if (!get_array(env, object, where, "cumulative", count, count, &weights, &length)) return false;
  for (uint32_t i = 0; i < count; i++) {
    int64_t w;
    path_of(path, "%s.cumulative[%u]", where, i);
    napi_get_element(env, weights, i, &weight);
    if (!to_integer(env, weight, path, i == 0 ? 1 : (int64_t)cumulative[i - 1] + 1, UINT32_MAX, &w)) return false;
    cumulative[i] = (uint32_t)w;
  }
  return true;
}

static bool known_call(int64_t c) {
  switch (c) {
  case CALL_NULL:
  case CALL_SIGN:
  case CALL_VERIFY:
  case CALL_DECRYPT:
  case CALL_ENCRYPT:
  case CALL_DIGEST:
  case CALL_RANDOM:
  case CALL_DERIVE:
  case CALL_KEYGEN:
    return true;
  }
  return false;
}

/** The templates a call takes: derive the derived key's, keygen the public and the private key's. */
static uint32_t templates_of(int call) { return call == CALL_DERIVE ? 1 : call == CALL_KEYGEN ? MAX_TEMPLATES : 0; }

static void free_template(CK_ATTRIBUTE *t, CK_ULONG count) {
  if (t == NULL) return;
  for (CK_ULONG i = 0; i < count; i++) free(t[i].pValue);
  free(t);
}

static void free_operation(operation_t *op) {
  for (int t = 0; t < MAX_TEMPLATES; t++) free_template(op->templates[t], op->template_length[t]);
}

/** One attribute's value: a number is a CK_ULONG, a boolean a CK_BBOOL, a Buffer its bytes (as pkcs11js takes them). */
static bool to_attribute_value(napi_env env, napi_value v, const char *path, CK_ATTRIBUTE *a) {
  napi_valuetype type;
  bool is_buffer = false, flag;
  int64_t number;
  CK_ULONG ulong_value;
  CK_BBOOL bool_value;
  void *data;
  size_t length;
  napi_typeof(env, v, &type);
  napi_is_buffer(env, v, &is_buffer);
  if (type == napi_number) {
    if (!to_integer(env, v, path, 0, MAX_SAFE_INTEGER, &number)) return false;
    ulong_value = (CK_ULONG)number;
    data = &ulong_value;
    length = sizeof ulong_value;
  } else if (type == napi_boolean) {
    napi_get_value_bool(env, v, &flag);
    bool_value = flag ? CK_TRUE : CK_FALSE;
    data = &bool_value;
    length = sizeof bool_value;
  } else if (is_buffer) {
    napi_get_buffer_info(env, v, &data, &length);
  } else {
    char what[96];
    snprintf(what, sizeof what, "is %s, not a number, a boolean or a Buffer", type_name(type));
    return refuse(env, path, what);
  }
  if ((a->pValue = malloc(length > 0 ? length : 1)) == NULL) return refuse(env, path, "cannot be copied (out of memory)");
  if (length > 0) memcpy(a->pValue, data, length);
  a->ulValueLen = (CK_ULONG)length;
  return true;
}

/** The templates of an operation (at `where`): as many as its call takes, each an array of { type, value }, copied out of JS. */
static bool get_templates(napi_env env, napi_value spec, const char *where, operation_t *op) {
  napi_value templates, attributes, attribute, value;
  uint32_t count = templates_of(op->call), n;
  char path[PATH_BYTES], at[PATH_BYTES], value_path[PATH_BYTES];
  if (!get_array(env, spec, where, "templates", count, count, &templates, &count)) return false;
  for (uint32_t t = 0; t < count; t++) {
    path_of(path, "%s.templates[%u]", where, t);
    napi_get_element(env, templates, t, &attributes);
    if (!to_array(env, attributes, path, 0, MAX_TEMPLATE_ATTRIBUTES, &n)) return false;
    if ((op->templates[t] = calloc(n > 0 ? n : 1, sizeof(CK_ATTRIBUTE))) == NULL) return refuse(env, path, "cannot be copied (out of memory)");
    for (uint32_t i = 0; i < n; i++) {
      int64_t type;
      path_of(at, "%s[%u]", path, i);
      napi_get_element(env, attributes, i, &attribute);
      if (!of_type(env, attribute, at, napi_object) || !get_integer(env, attribute, at, "type", 0, MAX_SAFE_INTEGER, &type) || !field(env, attribute, at, "value", &value, value_path))
        return false;
      op->templates[t][i].type = (CK_ATTRIBUTE_TYPE)type;
      if (!to_attribute_value(env, value, value_path, &op->templates[t][i])) return false;
      /* Counted as each value is copied: a template refused half-way frees what it holds. */
      op->template_length[t] = i + 1;
    }
  }
  return true;
}

static bool message_recipe(int64_t r) { return r == INPUT_MESSAGE || r == INPUT_SHA256 || r == INPUT_SHA256_DIGESTINFO; }

/** One operation of the spec (at `where`): its call, mechanism with parameters, input recipe and output size. */
static bool parse_operation(napi_env env, napi_value spec, const char *where, operation_t *op) {
  int64_t call, input, size, mechanism, kind, hash, mgf, salt, tag_bits, read_back, kdf;
  napi_value parameter, sizes, element;
  uint32_t size_count;
  char at[PATH_BYTES];
  if (!get_integer(env, spec, where, "call", INT32_MIN, INT32_MAX, &call) || !get_integer(env, spec, where, "input", INT32_MIN, INT32_MAX, &input) ||
      !get_array(env, spec, where, "outputBytes", 1, MAX_OUTPUT_SIZES, &sizes, &size_count) || !get_integer(env, spec, where, "mechanism", 0, MAX_SAFE_INTEGER, &mechanism) ||
      !get_object(env, spec, where, "parameter", &parameter))
    return false;
  if (!known_call(call)) return refuse_field(env, where, "call", "is not a call the native loop makes");
  if (!message_recipe(input) && input != INPUT_TABLE && input != INPUT_NONE) return refuse_field(env, where, "input", "is not an input recipe");
  op->call = (int)call;
  op->input = (int)input;
  for (uint32_t i = 0; i < size_count; i++) {
    path_of(at, "%s.outputBytes[%u]", where, i);
    napi_get_element(env, sizes, i, &element);
    if (!to_integer(env, element, at, 0, UINT16_MAX, &size)) return false;
    op->output_sizes[i] = (CK_ULONG)size;
  }
  op->output_size_count = (int)size_count;
  /* -1: the call reads nothing back. */
  if (!get_templates(env, spec, where, op) || !get_integer(env, spec, where, "readBack", templates_of(op->call) > 0 ? 0 : -1, MAX_SAFE_INTEGER, &read_back)) return false;
  op->read_back = (CK_ATTRIBUTE_TYPE)read_back;
  op->mechanism.mechanism = (CK_MECHANISM_TYPE)mechanism;
  path_of(at, "%s.parameter", where);
  if (!get_integer(env, parameter, at, "kind", INT32_MIN, INT32_MAX, &kind)) return false;
  /* derive builds its ECDH parameters per call, around the call's row: it takes no other kind, and needs a table. */
  if ((op->call == CALL_DERIVE) != (kind == PARAM_ECDH)) return refuse_field(env, at, "kind", "is not the ECDH parameters derive takes (and only derive)");
  if (op->call == CALL_DERIVE && op->input != INPUT_TABLE) return refuse_field(env, where, "input", "is not a table, which derive takes its public points from");
  switch (kind) {
  case PARAM_ECDH:
    if (!get_integer(env, parameter, at, "kdf", 0, MAX_SAFE_INTEGER, &kdf)) return false;
    op->kdf = (CK_EC_KDF_TYPE)kdf;
    return true;
  case PARAM_NONE:
    return true;
  case PARAM_PSS:
    if (!get_integer(env, parameter, at, "hashAlg", 0, MAX_SAFE_INTEGER, &hash) || !get_integer(env, parameter, at, "mgf", 0, MAX_SAFE_INTEGER, &mgf) ||
        !get_integer(env, parameter, at, "saltLen", 0, MAX_SAFE_INTEGER, &salt))
      return false;
    op->pss.hashAlg = (CK_MECHANISM_TYPE)hash;
    op->pss.mgf = (CK_RSA_PKCS_MGF_TYPE)mgf;
    op->pss.sLen = (CK_ULONG)salt;
    op->mechanism.pParameter = &op->pss;
    op->mechanism.ulParameterLen = sizeof op->pss;
    return true;
  case PARAM_OAEP:
    if (!get_integer(env, parameter, at, "hashAlg", 0, MAX_SAFE_INTEGER, &hash) || !get_integer(env, parameter, at, "mgf", 0, MAX_SAFE_INTEGER, &mgf)) return false;
    op->oaep.hashAlg = (CK_MECHANISM_TYPE)hash;
    op->oaep.mgf = (CK_RSA_PKCS_MGF_TYPE)mgf;
    op->oaep.source = CKZ_DATA_SPECIFIED;
    op->mechanism.pParameter = &op->oaep;
    op->mechanism.ulParameterLen = sizeof op->oaep;
    return true;
  case PARAM_IV:
  case PARAM_GCM: {
    void *iv;
    size_t iv_length;
    if (!get_bytes(env, parameter, at, "iv", 1, sizeof op->iv, &iv, &iv_length)) return false;
    memcpy(op->iv, iv, iv_length);
    if (kind == PARAM_IV) {
      op->mechanism.pParameter = op->iv;
      op->mechanism.ulParameterLen = iv_length;
      return true;
    }
    if (!get_integer(env, parameter, at, "tagBits", 0, 128, &tag_bits)) return false;
    op->gcm.pIv = op->iv;
    op->gcm.ulIvLen = iv_length;
    op->gcm.ulIvBits = iv_length * 8;
    op->gcm.ulTagBits = (CK_ULONG)tag_bits;
    op->mechanism.pParameter = &op->gcm;
    op->mechanism.ulParameterLen = sizeof op->gcm;
    return true;
  }
  }
  return refuse_field(env, at, "kind", "is not a kind of mechanism parameters the native loop takes");
}

static void free_table(bytes_t *table, uint32_t count) {
  if (table == NULL) return;
  for (uint32_t i = 0; i < count; i++) free(table[i].data);
  free(table);
}

/** Copies an array of Buffers (a job's table, at `path`) out of JS: the threads read it while JS may collect the
    originals. An empty array is a NULL table. */
static bool get_table(napi_env env, napi_value array, const char *path, bytes_t **table, uint32_t *count) {
  uint32_t n;
  char at[PATH_BYTES];
  *table = NULL;
  *count = 0;
  if (!to_array(env, array, path, 0, UINT32_MAX, &n)) return false;
  if (n == 0) return true;
  bytes_t *rows = calloc(n, sizeof(bytes_t));
  if (rows == NULL) return refuse(env, path, "cannot be copied (out of memory)");
  for (uint32_t i = 0; i < n; i++) {
    napi_value element;
    void *data;
    size_t length;
    path_of(at, "%s[%u]", path, i);
    napi_get_element(env, array, i, &element);
    if (!to_bytes(env, element, at, 0, SIZE_MAX, &data, &length)) {
      free_table(rows, i);
      return false;
    }
    if ((rows[i].data = malloc(length > 0 ? length : 1)) == NULL) {
      free_table(rows, i);
      return refuse(env, at, "cannot be copied (out of memory)");
    }
    if (length > 0) memcpy(rows[i].data, data, length);
    rows[i].length = (CK_ULONG)length;
  }
  *table = rows;
  *count = n;
  return true;
}

/** A job's session and key handles, one per operation (of a job spec, or of resume's handles), at `where`. */
static bool get_handles(napi_env env, napi_value object, const char *where, int op_count, CK_SESSION_HANDLE *session, CK_OBJECT_HANDLE *keys) {
  napi_value v, key;
  uint32_t n;
  char path[PATH_BYTES];
  if (!field(env, object, where, "session", &v, path) || !to_handle(env, v, path, session)) return false;
  if (!get_array(env, object, where, "keys", (uint32_t)op_count, (uint32_t)op_count, &v, &n)) return false;
  for (uint32_t o = 0; o < n; o++) {
    path_of(path, "%s.keys[%u]", where, o);
    napi_get_element(env, v, o, &key);
    if (!to_handle(env, key, path, &keys[o])) return false;
  }
  return true;
}

/** One job of the spec (at `where`): its handles, seed, tables, warm-up and share of the calls; its ring allocated. */
static bool parse_job(napi_env env, napi_value spec, const char *where, loop_t *l, job_t *j) {
  napi_value rows, aux, element;
  uint32_t n;
  void *seed;
  size_t seed_length;
  char path[PATH_BYTES];
  if (!get_handles(env, spec, where, l->op_count, &j->session, j->keys) || !get_bytes(env, spec, where, "seed", SEED_BYTES, SEED_BYTES, &seed, &seed_length) ||
      !get_array(env, spec, where, "rows", (uint32_t)l->op_count, (uint32_t)l->op_count, &rows, &n) ||
      !get_array(env, spec, where, "aux", (uint32_t)l->op_count, (uint32_t)l->op_count, &aux, &n) || !get_integer(env, spec, where, "warmup", 0, MAX_SAFE_INTEGER, &j->warmup) ||
      !get_integer(env, spec, where, "firstSequence", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER, &j->first_sequence) ||
      !get_integer(env, spec, where, "count", -1, MAX_SAFE_INTEGER, &j->count))
    return false;
  memcpy(j->seed, seed, SEED_BYTES);
  j->seed_word = seed_word_of(j->seed);
  for (int o = 0; o < l->op_count; o++) {
    path_of(path, "%s.rows[%d]", where, o);
    napi_get_element(env, rows, (uint32_t)o, &element);
    if (!get_table(env, element, path, &j->rows[o], &j->row_count[o])) return false;
    if (l->ops[o].input == INPUT_TABLE && j->rows[o] == NULL) return refuse(env, path, "is empty, and the operation takes its input from it");
    path_of(path, "%s.aux[%d]", where, o);
    napi_get_element(env, aux, (uint32_t)o, &element);
    if (!get_table(env, element, path, &j->aux[o], &j->aux_count[o])) return false;
    if (l->ops[o].call == CALL_VERIFY && j->aux[o] == NULL) return refuse(env, path, "is empty, and verify takes each row's signature from it");
  }
  j->records = calloc(j->slots, sizeof(record_t));
  j->outputs = l->keep_every > 0 ? malloc((size_t)j->slots * l->kept_bytes) : NULL;
  if (j->records == NULL || (l->keep_every > 0 && j->outputs == NULL)) return refuse(env, where, "has no memory for its ring of records");
  return true;
}

/** The whole spec of start() into `l`: false (after throwing, naming the field) on the first field that is wrong. */
static bool parse_spec(napi_env env, napi_value spec, loop_t *l) {
  napi_value operations, schedule, jobs, element;
  uint32_t op_count, n;
  int64_t buffer_bytes, kept_bytes, ring_bytes;
  bool recovery;
  char path[PATH_BYTES];
  if (!get_array(env, spec, "spec", "operations", 1, MAX_OPERATIONS, &operations, &op_count)) return false;
  l->op_count = (int)op_count;
  if (!get_cumulative(env, spec, "spec", op_count, l->cumulative)) return false;
  for (uint32_t o = 0; o < op_count; o++) {
    path_of(path, "spec.operations[%u]", o);
    napi_get_element(env, operations, o, &element);
    if (!of_type(env, element, path, napi_object) || !parse_operation(env, element, path, &l->ops[o])) return false;
  }
  /* A kept output's length is a 16-bit field of the record; the buffer is larger than any output, to see one over-reported. */
  if (!get_integer(env, spec, "spec", "keptBytes", 0, UINT16_MAX, &kept_bytes) || !get_integer(env, spec, "spec", "bufferBytes", kept_bytes + 1, UINT16_MAX + 1, &buffer_bytes)) return false;
  l->kept_bytes = (uint32_t)kept_bytes;
  l->buffer_bytes = (uint32_t)buffer_bytes;
  for (int o = 0; o < l->op_count; o++) {
    for (int i = 0; i < l->ops[o].output_size_count; i++) {
      path_of(path, "spec.operations[%d].outputBytes[%d]", o, i);
      if (l->ops[o].output_sizes[i] > l->kept_bytes) return refuse(env, path, "is more than spec.keptBytes, the room a ring slot has for an output");
    }
  }
  if (!get_integer(env, spec, "spec", "keepEvery", 0, MAX_SAFE_INTEGER, &l->keep_every) || !get_integer(env, spec, "spec", "durationNs", -1, MAX_SAFE_INTEGER, &l->duration_ns) ||
      !get_integer(env, spec, "spec", "sharedTotal", -1, MAX_SAFE_INTEGER, &l->shared_total) || !get_bool(env, spec, "spec", "recovery", &recovery) ||
      !get_integer(env, spec, "spec", "ringBytes", 1, MAX_SAFE_INTEGER, &ring_bytes) ||
      !get_integer(env, spec, "spec", "unrecordedMaxNs", -1, MAX_SAFE_INTEGER, &l->unrecorded_max_ns))
    return false;
  l->recovery = recovery;
  l->calls_limit = -1;
  if (!field(env, spec, "spec", "schedule", &schedule, path)) return false;
  napi_valuetype schedule_type;
  napi_typeof(env, schedule, &schedule_type);
  if (schedule_type != napi_null) {
    if (!of_type(env, schedule, path, napi_object) || !get_positive(env, schedule, "spec.schedule", "intervalNs", &l->interval_ns) ||
        !get_integer(env, schedule, "spec.schedule", "calls", -1, MAX_SAFE_INTEGER, &l->calls_limit))
      return false;
  }
  if (!get_array(env, spec, "spec", "jobs", 1, INT32_MAX, &jobs, &n)) return false;
  l->jobs = calloc(n, sizeof(job_t));
  if (l->jobs == NULL) return refuse(env, "spec.jobs", "cannot be allocated (out of memory)");
  l->job_count = (int)n;
  size_t slot_bytes = sizeof(record_t) + (l->keep_every > 0 ? l->kept_bytes : 0);
  uint64_t slots = (uint64_t)ring_bytes / slot_bytes / n;
  if (slots < MIN_RING_SLOTS) slots = MIN_RING_SLOTS;
  if (slots > UINT32_MAX) slots = UINT32_MAX;
  for (uint32_t i = 0; i < n; i++) {
    job_t *j = &l->jobs[i];
    j->loop = l;
    j->index = (int)i;
    j->slots = (uint32_t)slots;
    path_of(path, "spec.jobs[%u]", i);
    napi_get_element(env, jobs, i, &element);
    if (!of_type(env, element, path, napi_object) || !parse_job(env, element, path, l, j)) return false;
  }
  return true;
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

/** Also when the JS side drops a loop it never closed (an exception on the way), and for a spec refused. */
static void finalize_loop(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  loop_t *l = data;
  close_loop(l);
  if (l->abandoned) return;
  for (int o = 0; o < MAX_OPERATIONS; o++) free_operation(&l->ops[o]);
  pthread_cond_destroy(&l->changed);
  pthread_mutex_destroy(&l->mutex);
  free(l);
}

static loop_t *new_loop(void) {
  loop_t *l = calloc(1, sizeof *l);
  if (l == NULL) return NULL;
  pthread_mutex_init(&l->mutex, NULL);
  pthread_condattr_t cond_attr;
  pthread_condattr_init(&cond_attr);
  pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
  pthread_cond_init(&l->changed, &cond_attr);
  pthread_condattr_destroy(&cond_attr);
  return l;
}

/** The loop of an external that start() made; NULL (after throwing) for anything else or a closed loop. */
static loop_t *open_loop_of(napi_env env, napi_value v) {
  loop_t *l = NULL;
  napi_valuetype type;
  if (napi_typeof(env, v, &type) == napi_ok && type == napi_external) napi_get_value_external(env, v, (void **)&l);
  if (l == NULL || l->closed) {
    napi_throw_error(env, NULL, "hsm-bench native loop: not a loop, or closed");
    return NULL;
  }
  return l;
}

/** The job at `index` of a loop that is still open; NULL (after throwing) for a closed loop or a bad index. */
static job_t *job_of(napi_env env, napi_value loop, napi_value index) {
  loop_t *l = open_loop_of(env, loop);
  int64_t i;
  if (l == NULL || !to_integer(env, index, "job", 0, l->job_count - 1, &i)) return NULL;
  return &l->jobs[i];
}

/** The arguments of a call from JS: exactly `count` of them, else a TypeError naming the function's signature. */
static bool arguments_of(napi_env env, napi_callback_info info, size_t count, napi_value *argv, const char *signature) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count) {
    char message[256];
    snprintf(message, sizeof message, "hsm-bench native loop: %s takes %zu arguments", signature, count);
    napi_throw_type_error(env, NULL, message);
    return false;
  }
  return true;
}

static bool to_bigint(napi_env env, napi_value v, const char *path, int64_t *out) {
  bool lossless;
  return of_type(env, v, path, napi_bigint) && napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok && (lossless || refuse(env, path, "is beyond 64 bits"));
}

/**
 * start(modulePath, spec): loads the module (the instance the JS side initialized), starts one thread per job.
 * spec: { operations: [{ call, mechanism, parameter: { kind, …its fields }, input, outputBytes: [sizes], templates:
 * [[{ type, value }]], readBack }], cumulative,
 * bufferBytes, keptBytes, keepEvery, durationNs, sharedTotal, recovery, ringBytes, schedule: { intervalNs, calls
 * (-1: until the deadline) } or null, jobs: [{ session, keys: [per operation], seed, rows: [per operation], aux:
 * [per operation], warmup, firstSequence, count }] } (src/measure/native-engine.ts, NativeLoopSpec). Every field
 * is read before anything starts: one missing or wrong throws a TypeError naming it, and nothing runs.
 */
static napi_value start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char path[4096];
  size_t path_len;
  if (!arguments_of(env, info, 2, argv, "start(modulePath, spec)")) return NULL;
  if (!of_type(env, argv[0], "modulePath", napi_string) || !of_type(env, argv[1], "spec", napi_object)) return NULL;
  CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_len));
  loop_t *l = new_loop();
  if (l == NULL) {
    napi_throw_error(env, NULL, "hsm-bench native loop: out of memory");
    return NULL;
  }
  if (!parse_spec(env, argv[1], l)) {
    finalize_loop(env, l, NULL);
    return NULL;
  }
  void *lib = dlopen(path, RTLD_NOW);
  CK_C_GetFunctionList get = lib ? (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList") : NULL;
  if (get == NULL || get(&l->f) != CKR_OK || l->f == NULL) {
    finalize_loop(env, l, NULL);
    napi_throw_error(env, NULL, "the native loop cannot load the module");
    return NULL;
  }
  napi_value external;
  if (napi_create_external(env, l, finalize_loop, NULL, &external) != napi_ok) {
    finalize_loop(env, l, NULL);
    napi_throw_error(env, NULL, "hsm-bench native loop: cannot make the loop's handle");
    return NULL;
  }
  for (int i = 0; i < l->job_count; i++) {
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
  napi_value argv[2];
  int64_t start_ns;
  if (!arguments_of(env, info, 2, argv, "release(loop, startNs)")) return NULL;
  loop_t *l = open_loop_of(env, argv[0]);
  if (l == NULL || !to_bigint(env, argv[1], "startNs", &start_ns)) return NULL;
  pthread_mutex_lock(&l->mutex);
  l->start_ns = start_ns;
  l->released = 1;
  pthread_cond_broadcast(&l->changed);
  pthread_mutex_unlock(&l->mutex);
  return NULL;
}

static napi_value stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!arguments_of(env, info, 1, argv, "stop(loop)")) return NULL;
  loop_t *l = open_loop_of(env, argv[0]);
  if (l != NULL) stop_loop(l);
  return NULL;
}

/** close(loop): stops and joins the threads and frees the rings (again: nothing). */
static napi_value close_(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype type;
  loop_t *l = NULL;
  if (!arguments_of(env, info, 1, argv, "close(loop)")) return NULL;
  if (napi_typeof(env, argv[0], &type) == napi_ok && type == napi_external) napi_get_value_external(env, argv[0], (void **)&l);
  if (l == NULL) {
    napi_throw_type_error(env, NULL, "hsm-bench native loop: close(loop) takes a loop");
    return NULL;
  }
  close_loop(l);
  return NULL;
}

/**
 * states(loop, view): for each job, into view = { state: Int32Array, available: Int32Array, callBeginNs:
 * Float64Array } (one element per job): its JOB_* state, how many records wait in its ring, and when its call in
 * flight began (process.hrtime ns; 0 when it is not in a call).
 */
static napi_value states(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t *into, *available;
  double *begins;
  size_t length;
  if (!arguments_of(env, info, 2, argv, "states(loop, view)")) return NULL;
  loop_t *l = open_loop_of(env, argv[0]);
  if (l == NULL || !of_type(env, argv[1], "view", napi_object) || !get_typed_array(env, argv[1], "view", "state", napi_int32_array, l->job_count, (void **)&into, &length) ||
      !get_typed_array(env, argv[1], "view", "available", napi_int32_array, l->job_count, (void **)&available, &length) ||
      !get_typed_array(env, argv[1], "view", "callBeginNs", napi_float64_array, l->job_count, (void **)&begins, &length))
    return NULL;
  pthread_mutex_lock(&l->mutex);
  for (int i = 0; i < l->job_count; i++) {
    job_t *j = &l->jobs[i];
    int state = job_state(j);
    /* A parked job already told to go on is not parked any more, even before its thread wakes up: seen as parked,
       it would be reconnected a second time, closing the session it was just given. */
    into[i] = state == JOB_PARKED && j->park != PARK_WAIT ? JOB_RUNNING : state;
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
  napi_value argv[4], result;
  int64_t now;
  bool record;
  if (!arguments_of(env, info, 4, argv, "abandon(loop, job, nowNs, record)")) return NULL;
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL || !to_bigint(env, argv[2], "nowNs", &now) || !of_type(env, argv[3], "record", napi_boolean)) return NULL;
  napi_get_value_bool(env, argv[3], &record);
  loop_t *l = j->loop;
  int done = 0;
  pthread_mutex_lock(&l->mutex);
  int64_t begin = __atomic_load_n(&j->call_begin_ns, __ATOMIC_ACQUIRE);
  int measured = j->call_measured;
  /* The ring's only writer is the job's thread until the exchange below succeeds; then it is this one. */
  int room = __atomic_load_n(&j->head, __ATOMIC_ACQUIRE) - __atomic_load_n(&j->tail, __ATOMIC_ACQUIRE) < j->slots;
  if (begin > 0 && (room || !record || !measured) && __atomic_compare_exchange_n(&j->call_begin_ns, &begin, CALL_ABANDONED, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    if (record && measured) {
      write_record(l, j, begin - l->start_ns, now - begin, j->call_lag_ns, j->call_late, STATUS_CALL_TIMED_OUT, j->call_operation, NULL, 0);
      if (l->shared_total >= 0) __atomic_sub_fetch(&l->claimed, 1, __ATOMIC_SEQ_CST);
    }
    l->abandoned = 1;
    set_job_state(j, JOB_ABANDONED);
    done = 1;
  }
  pthread_mutex_unlock(&l->mutex);
  CHECK(napi_get_boolean(env, done, &result));
  return result;
}

/** exitNow(code): ends the process at once (_exit), for a process with threads stuck inside the module; its files must be written first. */
static napi_value exit_now(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t code;
  if (!arguments_of(env, info, 1, argv, "exitNow(code)") || !to_integer(env, argv[0], "code", 0, 255, &code)) return NULL;
  _exit((int)code);
}

/**
 * drain(loop, job, batch): moves up to the batch's capacity of the job's records into the batch's arrays, by name
 * (a CallBatch of src/model/call-batch.ts: startOffsetNs, latencyNs, status, kept, outputBytes, outputs, operation,
 * startLagNs, late; kept outputs packed one after the other into `outputs`); returns the count.
 */
static napi_value drain(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  double *offsets, *latencies, *lags;
  int32_t *statuses;
  uint16_t *output_bytes;
  uint8_t *kept, *outputs, *operations, *lates;
  size_t capacity, outputs_capacity, length;
  if (!arguments_of(env, info, 3, argv, "drain(loop, job, batch)")) return NULL;
  job_t *j = job_of(env, argv[0], argv[1]);
  napi_value b = argv[2];
  if (j == NULL || !of_type(env, b, "batch", napi_object) || !get_typed_array(env, b, "batch", "startOffsetNs", napi_float64_array, 0, (void **)&offsets, &capacity) ||
      !get_typed_array(env, b, "batch", "latencyNs", napi_float64_array, capacity, (void **)&latencies, &length) ||
      !get_typed_array(env, b, "batch", "status", napi_int32_array, capacity, (void **)&statuses, &length) ||
      !get_typed_array(env, b, "batch", "kept", napi_uint8_array, capacity, (void **)&kept, &length) ||
      !get_typed_array(env, b, "batch", "outputBytes", napi_uint16_array, capacity, (void **)&output_bytes, &length) ||
      !get_typed_array(env, b, "batch", "outputs", napi_uint8_array, 0, (void **)&outputs, &outputs_capacity) ||
      !get_typed_array(env, b, "batch", "operation", napi_uint8_array, capacity, (void **)&operations, &length) ||
      !get_typed_array(env, b, "batch", "startLagNs", napi_float64_array, capacity, (void **)&lags, &length) ||
      !get_typed_array(env, b, "batch", "late", napi_uint8_array, capacity, (void **)&lates, &length))
    return NULL;
  loop_t *l = j->loop;
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
  if (count > 0 && j->drained_head - __atomic_load_n(&j->drained_tail, __ATOMIC_ACQUIRE) < DRAINED_MAX) {
    j->drained_end_ns[j->drained_head % DRAINED_MAX] = (int64_t)(offsets[0] + latencies[0]);
    __atomic_store_n(&j->drained_head, j->drained_head + 1, __ATOMIC_RELEASE);
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
  napi_value argv[2], result;
  if (!arguments_of(env, info, 2, argv, "parkedSince(loop, job)")) return NULL;
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  pthread_mutex_lock(&j->loop->mutex);
  int64_t at = j->parked_at_ns;
  pthread_mutex_unlock(&j->loop->mutex);
  CHECK(napi_create_bigint_int64(env, at, &result));
  return result;
}

/** recorded(loop, job): the oldest batch drained from the job is recorded; a job held back for it looks again. */
static napi_value recorded(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!arguments_of(env, info, 2, argv, "recorded(loop, job)")) return NULL;
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  loop_t *l = j->loop;
  pthread_mutex_lock(&l->mutex);
  if (j->drained_tail != j->drained_head) __atomic_store_n(&j->drained_tail, j->drained_tail + 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&l->changed);
  pthread_mutex_unlock(&l->mutex);
  return NULL;
}

/** resume(loop, job, { session, keys }) goes on with a reconnected session; resume(loop, job, null) ends the job. */
static napi_value resume(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  napi_valuetype type;
  CK_SESSION_HANDLE session = 0;
  CK_OBJECT_HANDLE keys[MAX_OPERATIONS];
  if (!arguments_of(env, info, 3, argv, "resume(loop, job, handles)")) return NULL;
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  loop_t *l = j->loop;
  napi_typeof(env, argv[2], &type);
  /* Read whole before the job sees any of it. */
  if (type != napi_null && (!of_type(env, argv[2], "handles", napi_object) || !get_handles(env, argv[2], "handles", l->op_count, &session, keys))) return NULL;
  pthread_mutex_lock(&l->mutex);
  if (type == napi_null) {
    j->park = PARK_END;
  } else {
    j->session = session;
    memcpy(j->keys, keys, sizeof(CK_OBJECT_HANDLE) * (size_t)l->op_count);
    j->park = PARK_RESUME;
  }
  pthread_cond_broadcast(&l->changed);
  pthread_mutex_unlock(&l->mutex);
  return NULL;
}

/** gaveUp(loop, job): why the job stopped early on its own (a GAVE_UP_* code; GAVE_UP_NO while it runs or when it did not). */
static napi_value gave_up(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  if (!arguments_of(env, info, 2, argv, "gaveUp(loop, job)")) return NULL;
  job_t *j = job_of(env, argv[0], argv[1]);
  if (j == NULL) return NULL;
  /* The job's thread writes gave_up before it publishes JOB_DONE. */
  CHECK(napi_create_int32(env, job_state(j) == JOB_DONE ? j->gave_up : GAVE_UP_NO, &result));
  return result;
}

/* ---- twins: the C computations the worker threads have JS twins of, for test/native-parity.test.ts ---- */

/** twins.input({ seed, input, sequence }): the input of call `sequence` under a message recipe (messageFor, hostInput). */
static napi_value twin_input(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  void *seed, *copy;
  size_t seed_length;
  int64_t recipe, sequence;
  unsigned char into[MAX_MESSAGE_INPUT_BYTES];
  if (!arguments_of(env, info, 1, argv, "twins.input({ seed, input, sequence })") || !of_type(env, argv[0], "twin", napi_object) ||
      !get_bytes(env, argv[0], "twin", "seed", SEED_BYTES, SEED_BYTES, &seed, &seed_length) || !get_integer(env, argv[0], "twin", "input", INT32_MIN, INT32_MAX, &recipe) ||
      !get_integer(env, argv[0], "twin", "sequence", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER, &sequence))
    return NULL;
  if (!message_recipe(recipe)) {
    refuse(env, "twin.input", "is not a message recipe");
    return NULL;
  }
  CK_ULONG length = message_input(seed, (int)recipe, sequence, into);
  CHECK(napi_create_buffer_copy(env, length, into, &copy, &result));
  return result;
}

/** twins.pick({ cumulative, seed, sequence }): the operation the mix draws for call `sequence` (seedWord, pickOperation). */
static napi_value twin_pick(napi_env env, napi_callback_info info) {
  napi_value argv[1], weights, result;
  void *seed;
  size_t seed_length;
  uint32_t count;
  int64_t sequence;
  uint32_t cumulative[MAX_OPERATIONS];
  if (!arguments_of(env, info, 1, argv, "twins.pick({ cumulative, seed, sequence })") || !of_type(env, argv[0], "twin", napi_object) ||
      !get_array(env, argv[0], "twin", "cumulative", 1, MAX_OPERATIONS, &weights, &count) || !get_cumulative(env, argv[0], "twin", count, cumulative) ||
      !get_bytes(env, argv[0], "twin", "seed", SEED_BYTES, SEED_BYTES, &seed, &seed_length) ||
      !get_integer(env, argv[0], "twin", "sequence", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER, &sequence))
    return NULL;
  CHECK(napi_create_int32(env, pick_operation(cumulative, (int)count, seed_word_of(seed), sequence), &result));
  return result;
}

/** twins.intendedOffsetNs({ intervalNs, k }): call k's intended start after the window opens, in ns (intendedOffsetNs). */
static napi_value twin_intended_offset(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  double interval_ns;
  int64_t k;
  if (!arguments_of(env, info, 1, argv, "twins.intendedOffsetNs({ intervalNs, k })") || !of_type(env, argv[0], "twin", napi_object) ||
      !get_positive(env, argv[0], "twin", "intervalNs", &interval_ns) || !get_integer(env, argv[0], "twin", "k", 0, MAX_SAFE_INTEGER, &k))
    return NULL;
  CHECK(napi_create_bigint_int64(env, intended_offset_ns(interval_ns, k), &result));
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value abi, twins;
  napi_property_descriptor twin_functions[] = {
      {"input", NULL, twin_input, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pick", NULL, twin_pick, NULL, NULL, NULL, napi_enumerable, NULL},
      {"intendedOffsetNs", NULL, twin_intended_offset, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_create_string_utf8(env, NATIVE_ABI, NAPI_AUTO_LENGTH, &abi);
  napi_create_object(env, &twins);
  napi_define_properties(env, twins, sizeof twin_functions / sizeof twin_functions[0], twin_functions);
  napi_property_descriptor properties[] = {
      {"abi", NULL, NULL, NULL, NULL, abi, napi_enumerable, NULL},
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, release, NULL, NULL, NULL, napi_default, NULL},
      {"stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL},
      {"states", NULL, states, NULL, NULL, NULL, napi_default, NULL},
      {"drain", NULL, drain, NULL, NULL, NULL, napi_default, NULL},
      {"parkedSince", NULL, parked_since, NULL, NULL, NULL, napi_default, NULL},
      {"resume", NULL, resume, NULL, NULL, NULL, napi_default, NULL},
      {"recorded", NULL, recorded, NULL, NULL, NULL, napi_default, NULL},
      {"gaveUp", NULL, gave_up, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_, NULL, NULL, NULL, napi_default, NULL},
      {"abandon", NULL, abandon, NULL, NULL, NULL, napi_default, NULL},
      {"exitNow", NULL, exit_now, NULL, NULL, NULL, napi_default, NULL},
      {"twins", NULL, NULL, NULL, NULL, twins, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
