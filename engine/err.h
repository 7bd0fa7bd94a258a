/* Errors of the engine: every fallible function returns 0 on success and -1 on
 * failure, after filling the caller's claw_err. The Lua bindings turn one into the
 * table { code =, message =, status = } that policies see. */
#ifndef CLAW_ERR_H
#define CLAW_ERR_H

#include <stdarg.h>

/* Codes are short lowercase words, documented in docs/lua-api.md ("Errors"). */
#define CLAW_E_INVALID "invalid"         /* a bad value given by the caller */
#define CLAW_E_NOT_FOUND "not_found"     /* no such container, image, file, key */
#define CLAW_E_CONFLICT "conflict"       /* name in use, container running, ... */
#define CLAW_E_UNREACHABLE "unreachable" /* cannot talk to the Docker daemon */
#define CLAW_E_DAEMON "daemon"           /* the daemon answered another error */
#define CLAW_E_HTTP "http"               /* a transfer failed (not Docker-specific) */
#define CLAW_E_IO "io"                   /* a file-system call failed */
#define CLAW_E_PARSE "parse"             /* malformed JSON or YAML */
#define CLAW_E_CHECKSUM "checksum"       /* a backup does not match its sha256 */
#define CLAW_E_TIMEOUT "timeout"         /* a deadline passed */
#define CLAW_E_INTERRUPTED "interrupted" /* SIGINT or SIGTERM arrived */
#define CLAW_E_UNHEALTHY "unhealthy"     /* a health gate said no */
#define CLAW_E_EXITED "exited"           /* the container stopped while we waited */
#define CLAW_E_BUSY "busy"               /* not now: ask again soon (a daemon handing over) */

typedef struct claw_err {
    char code[24];
    int status;        /* HTTP status when the failure came from an answer, else 0 */
    char message[768];
} claw_err;

/* Fills *e (when e is not NULL) and returns -1, so `return claw_fail(...)` reads well. */
int claw_fail(claw_err *e, const char *code, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int claw_vfail(claw_err *e, const char *code, int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
/* claw_fail with strerror(errnum) appended as ": <reason>". */
int claw_fail_errno(claw_err *e, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
