/* The usage error of both programs (exitcode.h). */
#include "exitcode.h"

#include <stdarg.h>
#include <stdio.h>

int claw_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "clawengine: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'clawengine %s%s--help'.\n", command ? command : "", command ? " " : "");
    va_end(ap);
    return CLAW_EXIT_USAGE;
}
