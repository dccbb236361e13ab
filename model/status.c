/* status.c - error records: formatting, context prefixes, exit codes (see iobound/status.h). */
#include "iobound/status.h"

#include <stdio.h>
#include <string.h>

iob_status iob_error_vset(iob_error *err, iob_status code, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    err->code = code;
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    if (n >= (int)sizeof err->msg) /* say that the message was cut rather than cut it silently */
        memcpy(err->msg + sizeof err->msg - 4, "...", 4);
    return code;
}

iob_status iob_error_set(iob_error *err, iob_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    iob_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

iob_status iob_error_prefix(iob_error *err, const char *fmt, ...)
{
    if (!err)
        return IOB_OK;
    char prefix[IOB_ERROR_MSG_MAX], old[IOB_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    int n = snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    if (n >= (int)sizeof err->msg)
        memcpy(err->msg + sizeof err->msg - 4, "...", 4);
    return err->code;
}

void iob_error_clear(iob_error *err)
{
    if (err) {
        err->code = IOB_OK;
        err->msg[0] = '\0';
    }
}

const char *iob_status_name(iob_status code)
{
    switch (code) {
    case IOB_OK: return "ok";
    case IOB_EINVAL: return "invalid input";
    case IOB_ERANGE: return "out of range";
    case IOB_EIO: return "input/output error";
    case IOB_ENOMEM: return "out of memory";
    case IOB_ENODEV: return "no GPU";
    case IOB_EGPU: return "GPU error";
    case IOB_ECHECK: return "wrong result";
    case IOB_ENOTSUP: return "not supported";
    case IOB_EINFEASIBLE: return "infeasible config";
    }
    return "unknown error";
}

int iob_status_exit_code(iob_status code)
{
    switch (code) {
    case IOB_OK: return 0;
    case IOB_EINVAL:
    case IOB_ERANGE:
    case IOB_EINFEASIBLE: return 2;
    default: return 1;
    }
}
