#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPORT_MAX 4000 /* below PIPE_BUF (4096): one write is never interleaved */

/* The pipe the daemon gave this run, else -1. */
static int report_fd(void)
{
    const char *v = getenv("CLAWENGINE_REPORT_FD");
    char *end = NULL;
    long fd = v && *v ? strtol(v, &end, 10) : -1;
    struct stat st;
    if (fd < 3 || fd > 1000 || *end || fstat((int)fd, &st) != 0 || !S_ISFIFO(st.st_mode))
        return -1;
    return (int)fd;
}

int claw_report_send(const cJSON *rec, claw_err *err)
{
    int fd = report_fd();
    if (fd < 0)
        return 0;
    char *text = cJSON_PrintUnformatted(rec);
    size_t n = text ? strlen(text) : 0;
    int rc = 1;
    if (!text || n >= REPORT_MAX) {
        rc = claw_fail(err, CLAW_E_INVALID, 0, "report: the record is longer than %d bytes", REPORT_MAX);
    } else {
        text[n] = '\n'; /* over the terminating NUL: the line is sent by length */
        if (write(fd, text, n + 1) != (ssize_t)(n + 1))
            rc = claw_fail_errno(err, errno, "report: cannot write to the daemon");
    }
    free(text);
    return rc;
}
