/* Spikard — shared definitions: export macro, version, error codes, slices, allocator.
 *
 * Every public function returns 0 (SPK_OK) or a negative SPK_E* code unless documented otherwise.
 * Error numbers are stable: new codes get new numbers, old numbers are never reused. */
#ifndef SPIKARD_COMMON_H
#define SPIKARD_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SPK_BUILDING) && defined(__GNUC__)
#define SPK_EXTERN __attribute__((visibility("default")))
#else
#define SPK_EXTERN
#endif

#define SPK_VERSION_MAJOR 0
#define SPK_VERSION_MINOR 1
#define SPK_VERSION_PATCH 0
#define SPK_VERSION_STRING "0.1.0"
/* (major << 16) | (minor << 8) | patch, comparable with SPK_VERSION_HEX at compile time. */
#define SPK_VERSION_HEX ((SPK_VERSION_MAJOR << 16) | (SPK_VERSION_MINOR << 8) | SPK_VERSION_PATCH)

/* Version of the library actually loaded (may differ from the header's in a shared build). */
SPK_EXTERN const char *spk_version(void);
SPK_EXTERN unsigned spk_version_hex(void);

/* The error table. X(name, number, message) keeps codes, names and messages in one place. */
#define SPK_ERRNO_MAP(X)                                                         \
  X(ENOMEM, -1, "out of memory")                                                 \
  X(EINVAL, -2, "invalid argument")                                              \
  X(ENOENT, -3, "not found")                                                     \
  X(EEXIST, -4, "already exists")                                                \
  X(EFROZEN, -5, "app is frozen; routes and settings are read-only")             \
  X(EAGAIN, -6, "incomplete input; more data needed")                            \
  X(EPROTO, -7, "malformed protocol data")                                       \
  X(EURITOOLONG, -8, "request target too long")                                  \
  X(EHDRTOOLARGE, -9, "request header fields too large")                         \
  X(EBODYTOOLARGE, -10, "request body too large")                                \
  X(ENOTIMPL, -11, "not implemented")                                            \
  X(EIO, -12, "i/o error")                                                       \
  X(ECLOSED, -13, "connection closed")                                           \
  X(ETIMEDOUT, -14, "timed out")                                                 \
  X(ESTATE, -15, "operation not valid in the current state")                     \
  X(EADDR, -16, "cannot bind or listen on the address")                          \
  X(ERANGE, -17, "value out of range")                                           \
  X(ESMUGGLE, -18, "ambiguous message framing (request smuggling attempt)")      \
  X(EMETHOD, -19, "method not allowed by the parser configuration")              \
  X(EQUEUEFULL, -20, "queue full; retry later")

typedef enum spk_errno {
  SPK_OK = 0,
#define SPK__ERR_ENUM(name, num, msg) SPK_##name = (num),
  SPK_ERRNO_MAP(SPK__ERR_ENUM)
#undef SPK__ERR_ENUM
} spk_errno_t;

/* Human-readable message for an SPK_E* code; never NULL (unknown codes get a generic text). */
SPK_EXTERN const char *spk_strerror(int err);
/* The symbolic name ("SPK_EINVAL"); never NULL. */
SPK_EXTERN const char *spk_err_name(int err);

/* A borrowed byte range. Not NUL-terminated unless documented. Lifetime: see the function that
 * returned it. */
typedef struct spk_str {
  const char *ptr;
  size_t len;
} spk_str_t;

#define SPK_STR(lit) ((spk_str_t){(lit), sizeof(lit) - 1})

/* Replaceable allocator, after uv_replace_allocator: call once, before any other spk_* call,
 * so that hosts (Python, Node, Ruby) can account for our memory. All four must be given.
 * Returns SPK_EINVAL if any is NULL. Not thread-safe by design: it is process configuration. */
typedef void *(*spk_malloc_fn)(size_t size);
typedef void *(*spk_realloc_fn)(void *ptr, size_t size);
typedef void *(*spk_calloc_fn)(size_t count, size_t size);
typedef void (*spk_free_fn)(void *ptr);
SPK_EXTERN int spk_replace_allocator(spk_malloc_fn m, spk_realloc_fn r, spk_calloc_fn c,
                                     spk_free_fn f);

#ifdef __cplusplus
}
#endif
#endif
