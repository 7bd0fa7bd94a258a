/* Atomic files (atomic.h): the old content or the new, never a mix. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int claw_path_fmt(char out[CLAW_PATHSZ], claw_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, CLAW_PATHSZ, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= CLAW_PATHSZ)
        return claw_fail(err, CLAW_E_INVALID, 0, "path too long: %.200s...", out);
    return 0;
}

/* Creates dir and its missing parents with mode 0700 (the copies may hold secrets). */
int claw_make_dirs(const char *dir, claw_err *err)
{
    char buf[CLAW_PATHSZ];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *s = buf + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        struct stat st;
        /* an existing parent may answer EACCES or EROFS rather than EEXIST */
        if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return claw_fail_errno(err, e, "cannot create %s", buf);
        }
        if (c == '\0')
            return 0;
        *s = c;
    }
}

void claw_af_init(claw_atomic_file *f)
{
    f->target[0] = f->tmp[0] = '\0';
    f->fd = -1;
    f->live = 0;
}

int claw_af_open(claw_atomic_file *f, const char *target, claw_err *err)
{
    claw_af_init(f);
    if (claw_path_fmt(f->target, err, "%s", target) != 0)
        return -1;
    const char *slash = strrchr(target, '/');
    int dirlen = (int)(slash - target);
    if (claw_path_fmt(f->tmp, err, "%.*s/.%s.XXXXXX", dirlen, target, slash + 1) != 0)
        return -1;
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0)
        return claw_fail_errno(err, errno, "cannot write %s", target);
    f->live = 1;
    return 0;
}

int claw_write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

int claw_af_write(claw_atomic_file *f, const char *buf, size_t n, claw_err *err)
{
    if (claw_write_all(f->fd, buf, n) != 0)
        return claw_fail_errno(err, errno, "cannot write %s", f->target);
    return 0;
}

/* The owner only as root: only root can give a file away. */
int claw_af_finish(claw_atomic_file *f, const struct stat *like, claw_err *err)
{
    int rc = 0;
    if (like && geteuid() == 0 && fchown(f->fd, like->st_uid, like->st_gid) != 0)
        rc = -1;
    /* after fchown, which may clear the set-id bits */
    if (rc == 0 && like && fchmod(f->fd, like->st_mode & 07777) != 0)
        rc = -1;
    if (rc == 0 && fsync(f->fd) != 0)
        rc = -1;
    int e = errno;
    if (close(f->fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    f->fd = -1;
    return rc ? claw_fail_errno(err, e, "cannot write %s", f->target) : 0;
}

int claw_sync_dir_of(const char *file, claw_err *err)
{
    char dir[CLAW_PATHSZ];
    const char *slash = strrchr(file, '/');
    snprintf(dir, sizeof dir, "%.*s", slash == file ? 1 : (int)(slash - file), file);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return claw_fail_errno(err, errno, "cannot sync %s", dir);
    int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0; /* EINVAL: fs without dir sync */
    int e = errno;
    close(fd);
    return rc ? claw_fail_errno(err, e, "cannot sync %s", dir) : 0;
}

int claw_af_publish(claw_atomic_file *f, claw_err *err)
{
    if (rename(f->tmp, f->target) != 0)
        return claw_fail_errno(err, errno, "cannot write %s", f->target);
    f->live = 0;
    return claw_sync_dir_of(f->target, err);
}

void claw_af_abort(claw_atomic_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    if (f->live)
        unlink(f->tmp);
    f->live = 0;
}

int claw_write_atomic(const char *target, const char *data, size_t n, claw_err *err)
{
    claw_atomic_file f;
    if (claw_af_open(&f, target, err) != 0 || claw_af_write(&f, data, n, err) != 0 ||
        claw_af_finish(&f, NULL, err) != 0 || claw_af_publish(&f, err) != 0) {
        claw_af_abort(&f);
        return -1;
    }
    return 0;
}
