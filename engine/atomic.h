/* Writing files so that a crash leaves either the old content or the new, never a
 * mix (implemented in backup.c, which needs the same for its copies). */
#ifndef CLAW_ATOMIC_H
#define CLAW_ATOMIC_H

#include <stddef.h>

#include "err.h"

/* Writes data to a temporary file beside target, fsyncs it, renames it over target
 * and fsyncs the folder. */
int claw_write_atomic(const char *target, const char *data, size_t n, claw_err *err);
/* mkdir -p with mode 0700 for the folders it creates. */
int claw_make_dirs(const char *dir, claw_err *err);

#endif
