/* status.h - error codes and the error record every iobound function fills on failure.
 *
 * The library never prints and never exits: a function that can fail returns an iob_status
 * and, when it is not IOB_OK, writes one human-readable line into the caller's iob_error
 * (which may be NULL when the caller does not want the text). The CLI prints that line on
 * stderr and maps the code to an exit status with iob_status_exit_code().
 */
#ifndef IOBOUND_STATUS_H
#define IOBOUND_STATUS_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum iob_status {
    IOB_OK = 0,
    IOB_EINVAL,   /* malformed input: a spec, a file, an option value (exit 2) */
    IOB_ERANGE,   /* a value or a derived count is out of range or overflows 64 bits (exit 2) */
    IOB_EIO,      /* a file could not be opened, read or written (exit 1) */
    IOB_ENOMEM,   /* an allocation failed (exit 1) */
    IOB_ENODEV,   /* no GPU present, or built without CUDA (exit 1) */
    IOB_EGPU,     /* a CUDA, NVRTC, cuDNN or CUPTI call failed (exit 1) */
    IOB_ECHECK,   /* a kernel's output disagreed with the reference (exit 1) */
    IOB_ENOTSUP,  /* the request is valid but not supported here (exit 1) */
    IOB_EINFEASIBLE /* a config does not fit the machine's resources (exit 2) */
} iob_status;

#define IOB_ERROR_MSG_MAX 512

typedef struct iob_error {
    iob_status code;
    char msg[IOB_ERROR_MSG_MAX];
} iob_error;

/* Records code and a printf-style message in err (if err is not NULL); returns code, so that
 * `return iob_error_set(err, IOB_EINVAL, "...")` reads naturally. A message longer than
 * IOB_ERROR_MSG_MAX-1 is cut with "..." at the end, never silently. */
iob_status iob_error_set(iob_error *err, iob_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
iob_status iob_error_vset(iob_error *err, iob_status code, const char *fmt, va_list ap);

/* Prefixes the message already in err with "prefix: " (used to add context such as a file
 * name and row). Returns err->code. */
iob_status iob_error_prefix(iob_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Resets err to IOB_OK with an empty message. */
void iob_error_clear(iob_error *err);

/* Short name of a code ("invalid input", "out of range", ...). Never NULL. */
const char *iob_status_name(iob_status code);

/* Process exit status for a code: 0 for IOB_OK, 2 for bad input (EINVAL, ERANGE,
 * EINFEASIBLE), 1 for everything else. */
int iob_status_exit_code(iob_status code);

#ifdef __cplusplus
}
#endif

#endif
