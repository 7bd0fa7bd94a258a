#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int claw_vfail(claw_err *e, const char *code, int status, const char *fmt, va_list ap)
{
    if (!e)
        return -1;
    snprintf(e->code, sizeof e->code, "%s", code);
    e->status = status;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    return -1;
}

int claw_fail(claw_err *e, const char *code, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    claw_vfail(e, code, status, fmt, ap);
    va_end(ap);
    return -1;
}

int claw_fail_errno(claw_err *e, int errnum, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    claw_vfail(e, errnum == ENOENT ? CLAW_E_NOT_FOUND : CLAW_E_IO, 0, fmt, ap);
    va_end(ap);
    size_t n = strlen(e->message);
    snprintf(e->message + n, sizeof e->message - n, ": %s", strerror(errnum));
    return -1;
}
