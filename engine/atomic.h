/* Writing files so that a crash leaves either the old content or the new, never a
 * mix. In a file of its own, apart from backup.c which uses it too, because the
 * daemon needs it and must not link backup.c: that pulls in the Docker client and
 * with it libcurl (docs/development.md). */
#ifndef CLAW_ATOMIC_H
#define CLAW_ATOMIC_H

#include <stddef.h>
#include <sys/stat.h>

#include "err.h"

#define CLAW_PATHSZ 4096

/* Writes data to a temporary file beside target, fsyncs it, renames it over target
 * and fsyncs the folder. */
int claw_write_atomic(const char *target, const char *data, size_t n, claw_err *err);
/* mkdir -p with mode 0700 for the folders it creates. */
int claw_make_dirs(const char *dir, claw_err *err);

/* Formats a path into out; a path that does not fit is the caller's error, reported
 * rather than truncated, because a truncated path names another file. */
int claw_path_fmt(char out[CLAW_PATHSZ], claw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* write(2) until all of buf is written; -1 with errno set on failure. */
int claw_write_all(int fd, const char *buf, size_t n);
/* fsync of the folder holding file, which makes a rename or an unlink in it durable. */
int claw_sync_dir_of(const char *file, claw_err *err);

/* A file being written under a temporary name beside its target, for writers that
 * stream (backup copies). Owned by the function that declares it; claw_af_abort is
 * safe to call at any point, even twice. */
typedef struct claw_atomic_file {
    char target[CLAW_PATHSZ];
    char tmp[CLAW_PATHSZ];
    int fd;   /* -1 once closed */
    int live; /* the temporary file exists on disk */
} claw_atomic_file;

void claw_af_init(claw_atomic_file *f);
int claw_af_open(claw_atomic_file *f, const char *target, claw_err *err);
int claw_af_write(claw_atomic_file *f, const char *buf, size_t n, claw_err *err);
/* Gives the temporary file like's mode (and owner, as root), then makes its content
 * durable and closes it. like may be NULL (0600). */
int claw_af_finish(claw_atomic_file *f, const struct stat *like, claw_err *err);
/* Renames it over the target. */
int claw_af_publish(claw_atomic_file *f, claw_err *err);
void claw_af_abort(claw_atomic_file *f);

#endif
