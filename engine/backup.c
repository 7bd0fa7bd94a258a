/* Backups of config files; the layout and the guarantees are described in backup.h. */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"

#define PATHSZ 4096
#define IDSZ 40
#define DEFAULT_KEEP 10

/* ---- paths ---------------------------------------------------------------------- */

static int fmt_path(char out[PATHSZ], claw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats a path into out; a path that does not fit is the caller's error, reported
 * rather than truncated, because a truncated path names another file. */
static int fmt_path(char out[PATHSZ], claw_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATHSZ, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATHSZ)
        return claw_fail(err, CLAW_E_INVALID, 0, "path too long: %.200s...", out);
    return 0;
}

/* Removes "." and ".." components and repeated slashes from the absolute path raw
 * (modified) into out, which must be at least as large as raw. */
static void normalise(char *raw, char *out)
{
    size_t n = 0;
    char *save = NULL;
    for (char *c = strtok_r(raw, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            while (n > 0 && out[--n] != '/')
                ;
            continue;
        }
        size_t len = strlen(c);
        out[n++] = '/';
        memcpy(out + n, c, len);
        n += len;
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
}

/* Makes path absolute against the cwd, lexically: the file need not exist (a restore
 * after deletion), and "./x.json" and "x.json" must map to one backup folder. */
static int absolute(const char *path, char out[PATHSZ], claw_err *err)
{
    char raw[2 * PATHSZ], norm[2 * PATHSZ];
    if (!path || !*path)
        return claw_fail(err, CLAW_E_INVALID, 0, "empty path");
    if (path[0] == '/') {
        snprintf(raw, sizeof raw, "%s", path);
    } else {
        char cwd[PATHSZ];
        if (!getcwd(cwd, sizeof cwd))
            return claw_fail_errno(err, errno, "cannot resolve %s", path);
        snprintf(raw, sizeof raw, "%s/%s", cwd, path);
    }
    if (strlen(raw) >= sizeof raw - 1)
        return claw_fail(err, CLAW_E_INVALID, 0, "path too long: %.200s...", path);
    normalise(raw, norm);
    return fmt_path(out, err, "%s", norm);
}

/* Creates dir and its missing parents with mode 0700 (the copies may hold secrets). */
int claw_make_dirs(const char *dir, claw_err *err)
{
    char buf[PATHSZ];
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

/* ---- sha256 --------------------------------------------------------------------- */

static void to_hex(const unsigned char *md, unsigned len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < len && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

static int sha256_buf(const void *data, size_t len, char hex[65], claw_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
        return claw_fail(err, CLAW_E_IO, 0, "sha256 failed in OpenSSL");
    to_hex(md, mdlen, hex);
    return 0;
}

/* ---- atomic files --------------------------------------------------------------- */

/* A file being written under a temporary name beside its target. Owned by the
 * function that declares it; af_abort is safe to call at any point, even twice. */
typedef struct atomic_file {
    char target[PATHSZ];
    char tmp[PATHSZ];
    int fd;   /* -1 once closed */
    int live; /* the temporary file exists on disk */
} atomic_file;

static void af_init(atomic_file *f)
{
    f->target[0] = f->tmp[0] = '\0';
    f->fd = -1;
    f->live = 0;
}

static int af_open(atomic_file *f, const char *target, claw_err *err)
{
    af_init(f);
    if (fmt_path(f->target, err, "%s", target) != 0)
        return -1;
    const char *slash = strrchr(target, '/');
    int dirlen = (int)(slash - target);
    if (fmt_path(f->tmp, err, "%.*s/.%s.XXXXXX", dirlen, target, slash + 1) != 0)
        return -1;
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0)
        return claw_fail_errno(err, errno, "cannot write %s", target);
    f->live = 1;
    return 0;
}

static int write_all(int fd, const char *buf, size_t n)
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

static int af_write(atomic_file *f, const char *buf, size_t n, claw_err *err)
{
    if (write_all(f->fd, buf, n) != 0)
        return claw_fail_errno(err, errno, "cannot write %s", f->target);
    return 0;
}

/* Gives the temporary file like's mode (and owner, as root: only root can give a file
 * away), then makes its content durable and closes it. like may be NULL (0600). */
static int af_finish(atomic_file *f, const struct stat *like, claw_err *err)
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

/* fsync of the directory makes a rename or an unlink in it durable. */
static int sync_dir_of(const char *file, claw_err *err)
{
    char dir[PATHSZ];
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

static int af_publish(atomic_file *f, claw_err *err)
{
    if (rename(f->tmp, f->target) != 0)
        return claw_fail_errno(err, errno, "cannot write %s", f->target);
    f->live = 0;
    return sync_dir_of(f->target, err);
}

static void af_abort(atomic_file *f)
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
    atomic_file f;
    if (af_open(&f, target, err) != 0 || af_write(&f, data, n, err) != 0 ||
        af_finish(&f, NULL, err) != 0 || af_publish(&f, err) != 0) {
        af_abort(&f);
        return -1;
    }
    return 0;
}

/* Reads src to its end once, hashing every byte and writing it to each of dst[0..ndst):
 * the copies and the checksum then describe the same bytes even if the source
 * changes meanwhile. */
static int stream(int src, const char *src_name, atomic_file *dst, int ndst, char hex[65],
                  long long *size, claw_err *err)
{
    char buf[65536];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int rc = 0;
    *size = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        rc = claw_fail(err, CLAW_E_IO, 0, "cannot hash %s: OpenSSL failed", src_name);
    while (rc == 0) {
        ssize_t n = read(src, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = claw_fail_errno(err, errno, "cannot read %s", src_name);
        if (n <= 0)
            break;
        *size += n;
        if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
            rc = claw_fail(err, CLAW_E_IO, 0, "cannot hash %s: OpenSSL failed", src_name);
        for (int i = 0; rc == 0 && i < ndst; i++)
            rc = af_write(&dst[i], buf, (size_t)n, err);
    }
    if (rc == 0 && !EVP_DigestFinal_ex(ctx, md, &mdlen))
        rc = claw_fail(err, CLAW_E_IO, 0, "cannot hash %s: OpenSSL failed", src_name);
    EVP_MD_CTX_free(ctx);
    if (rc == 0)
        to_hex(md, mdlen, hex);
    return rc;
}

int claw_sha256_file(const char *path, char hex[65], claw_err *err)
{
    long long size;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return claw_fail_errno(err, errno, "cannot read %s", path);
    int rc = stream(fd, path, NULL, 0, hex, &size, err);
    close(fd);
    return rc;
}

/* ---- the manifest (SHA256SUMS) -------------------------------------------------- */

typedef struct entry {
    char id[IDSZ];
    char sha[65];
} entry;

/* The lines of SHA256SUMS, oldest first. Owned by its declarer: manifest_free. */
typedef struct manifest {
    entry *v;
    size_t n, cap;
} manifest;

static void manifest_free(manifest *m)
{
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

/* Ids are joined to the folder's path, so one read from a file must not be able to
 * name anything outside it ("..", "/") nor a hidden file (".lock", temporaries). */
static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= IDSZ || id[0] == '.')
        return 0;
    return strspn(id, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-_") == n;
}

static int manifest_add(manifest *m, const char *id, const char *sha, claw_err *err)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 16;
        entry *v = realloc(m->v, cap * sizeof *v);
        if (!v)
            return claw_fail(err, CLAW_E_IO, 0, "out of memory");
        m->v = v;
        m->cap = cap;
    }
    snprintf(m->v[m->n].id, IDSZ, "%s", id);
    snprintf(m->v[m->n].sha, 65, "%s", sha);
    m->n++;
    return 0;
}

/* Parses "<64 hex>  <id>" (or "<hex> *<id>", sha256sum's binary mode) in place. */
static int parse_line(char *line, char **sha, char **id)
{
    line[strcspn(line, "\r\n")] = '\0';
    if (strspn(line, "0123456789abcdefABCDEF") != 64 || line[64] != ' ' ||
        (line[65] != ' ' && line[65] != '*'))
        return -1;
    line[64] = '\0';
    for (char *c = line; *c; c++)
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
    *sha = line;
    *id = line + 66;
    return valid_id(*id) ? 0 : -1;
}

/* Loads SHA256SUMS; a missing one is an empty manifest (a file never backed up). */
static int manifest_load(const char *sums, manifest *m, claw_err *err)
{
    m->v = NULL;
    m->n = m->cap = 0;
    FILE *f = fopen(sums, "r");
    if (!f)
        return errno == ENOENT ? 0 : claw_fail_errno(err, errno, "cannot read %s", sums);
    char *line = NULL, *sha, *id;
    size_t cap = 0;
    int rc = 0;
    for (int no = 1; rc == 0 && getline(&line, &cap, f) >= 0; no++) {
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        if (parse_line(line, &sha, &id) != 0)
            rc = claw_fail(err, CLAW_E_PARSE, 0, "malformed line %d in %s", no, sums);
        else
            rc = manifest_add(m, id, sha, err);
    }
    if (rc == 0 && ferror(f))
        rc = claw_fail_errno(err, errno, "cannot read %s", sums);
    free(line);
    fclose(f);
    if (rc != 0)
        manifest_free(m);
    return rc;
}

/* Rewrites SHA256SUMS atomically with the entries from index `from` on. */
static int manifest_store(const char *sums, const manifest *m, size_t from, claw_err *err)
{
    size_t len = (m->n - from) * (64 + 2 + IDSZ + 1) + 1;
    char *text = malloc(len), *p = text;
    if (!text)
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    for (size_t i = from; i < m->n; i++)
        p += snprintf(p, len - (size_t)(p - text), "%s  %s\n", m->v[i].sha, m->v[i].id);
    int rc = claw_write_atomic(sums, text, (size_t)(p - text), err);
    free(text);
    return rc;
}

static const entry *manifest_find(const manifest *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].id, id) == 0)
            return &m->v[i];
    return NULL;
}

/* The newest entry with this content: how a .pre-update copy is verified. */
static const entry *manifest_find_sha(const manifest *m, const char *sha)
{
    for (size_t i = m->n; i > 0; i--)
        if (strcmp(m->v[i - 1].sha, sha) == 0)
            return &m->v[i - 1];
    return NULL;
}

/* ---- ids and times ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm):
 * timegm is not POSIX 2008, and the time zone must not matter. */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The save time encoded in an id, so that a list needs no other record of it. */
static double id_time(const char *id)
{
    int y, mo, d, h, mi, s, ms;
    if (sscanf(id, "%4d%2d%2dT%2d%2d%2d.%3dZ", &y, &mo, &d, &h, &mi, &s, &ms) != 7)
        return 0;
    return (double)(days_from_civil(y, mo, d) * 86400L + h * 3600L + mi * 60L + s) +
           ms / 1000.0;
}

static int id_taken(const manifest *m, const char *folder, const char *id)
{
    char path[PATHSZ];
    struct stat st;
    if (manifest_find(m, id))
        return 1;
    snprintf(path, sizeof path, "%s/%s", folder, id);
    return lstat(path, &st) == 0;
}

/* A new id: the UTC time in milliseconds, with "-1", "-2", ... when two saves fall in
 * one millisecond (or the clock stepped back onto an earlier save). */
static void new_id(const manifest *m, const char *folder, char id[IDSZ])
{
    struct timespec ts;
    struct tm tm;
    char base[16], stamp[24];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof base, "%Y%m%dT%H%M%S", &tm);
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000) % 1000u;
    snprintf(stamp, sizeof stamp, "%.15s.%03uZ", base, ms);
    snprintf(id, IDSZ, "%s", stamp);
    for (int k = 1; id_taken(m, folder, id); k++)
        snprintf(id, IDSZ, "%.20s-%d", stamp, k);
}

/* ---- where one file's backups live ---------------------------------------------- */

typedef struct place {
    char source[PATHSZ];    /* the original, absolute */
    char store[PATHSZ];     /* the store, absolute */
    char folder[PATHSZ];    /* <store>/<basename>-<12 hex> */
    char sums[PATHSZ];      /* <folder>/SHA256SUMS */
    char preupdate[PATHSZ]; /* <source>.pre-update */
} place;

static int locate(const char *path, const claw_backup_opts *o, place *p, claw_err *err)
{
    char hex[65];
    if (absolute(path, p->source, err) != 0)
        return -1;
    if (!o || !o->store || !*o->store)
        return claw_fail(err, CLAW_E_INVALID, 0, "no backup store given for %s", p->source);
    if (absolute(o->store, p->store, err) != 0 ||
        sha256_buf(p->source, strlen(p->source), hex, err) != 0)
        return -1;
    /* the basename is for people; the hash of the whole path keeps apart two files
     * named alike; 200 keeps the folder's name within NAME_MAX */
    const char *base = strrchr(p->source, '/') + 1;
    if (fmt_path(p->folder, err, "%s/%.200s-%.12s",
                 strcmp(p->store, "/") == 0 ? "" : p->store, base, hex) != 0 ||
        fmt_path(p->sums, err, "%s/SHA256SUMS", p->folder) != 0 ||
        fmt_path(p->preupdate, err, "%s.pre-update", p->source) != 0)
        return -1;
    return 0;
}

/* Fills info from a manifest entry; the size is left to the caller. */
static int describe(const place *p, const entry *e, claw_backup_info *info, claw_err *err)
{
    if (fmt_path(info->path, err, "%s/%s", p->folder, e->id) != 0)
        return -1;
    snprintf(info->id, sizeof info->id, "%s", e->id);
    snprintf(info->source, sizeof info->source, "%s", p->source);
    snprintf(info->sha256, sizeof info->sha256, "%s", e->sha);
    info->size = -1;
    info->time = id_time(e->id);
    return 0;
}

/* ---- save ------------------------------------------------------------------------ */

static int open_source(const char *src, struct stat *st, claw_err *err)
{
    /* O_NONBLOCK: opening a FIFO must not hang before fstat can refuse it */
    int fd = open(src, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return claw_fail_errno(err, errno, "cannot back up %s", src);
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return claw_fail_errno(err, e, "cannot back up %s", src);
    }
    if (S_ISREG(st->st_mode))
        return fd;
    close(fd);
    return claw_fail(err, CLAW_E_INVALID, 0, "cannot back up %s: not a regular file%s", src,
                     S_ISDIR(st->st_mode) ? " (directories are not supported yet)" : "");
}

/* Serialises saves of one file by different processes (fcntl locks are per process),
 * so that two saves never rewrite SHA256SUMS from the same old copy. Closing the
 * returned descriptor releases the lock. */
static int lock_folder(const char *folder, claw_err *err)
{
    char path[PATHSZ];
    if (fmt_path(path, err, "%s/.lock", folder) != 0)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return claw_fail_errno(err, errno, "cannot lock %s", folder);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLKW, &fl) != 0) {
        int e = errno;
        close(fd);
        return claw_fail_errno(err, e, "cannot lock %s", folder);
    }
    return fd;
}

/* Writes both copies from one read of the source and makes them durable, under
 * temporary names: nothing is visible yet, so a failure here changes nothing. */
static int save_copies(const place *p, int src, const struct stat *st, atomic_file f[2],
                       claw_backup_info *out, claw_err *err)
{
    if (af_open(&f[0], out->path, err) != 0 || af_open(&f[1], p->preupdate, err) != 0 ||
        stream(src, p->source, f, 2, out->sha256, &out->size, err) != 0 ||
        af_finish(&f[0], st, err) != 0 || af_finish(&f[1], st, err) != 0)
        return -1;
    return 0;
}

/* Makes the new copy visible and recorded, prunes, then replaces .pre-update. The
 * manifest is written before the pruned copies are removed, so it never lists a
 * missing file; .pre-update comes last, so until then the old one still matches an
 * entry (unless it was pruned). */
static int save_publish(const place *p, manifest *m, int keep, atomic_file f[2],
                        const claw_backup_info *out, claw_err *err)
{
    char path[PATHSZ], source[PATHSZ + 1];
    struct stat st;
    if (af_publish(&f[0], err) != 0)
        return -1;
    size_t from = m->n + 1 > (size_t)keep ? m->n + 1 - (size_t)keep : 0;
    if (manifest_add(m, out->id, out->sha256, err) != 0 ||
        manifest_store(p->sums, m, from, err) != 0) {
        unlink(out->path); /* unrecorded, it could never be verified */
        return -1;
    }
    for (size_t i = 0; i < from; i++)
        if (snprintf(path, sizeof path, "%s/%s", p->folder, m->v[i].id) < PATHSZ)
            unlink(path); /* a leftover is harmless: nothing lists it */
    snprintf(source, sizeof source, "%s\n", p->source);
    if (fmt_path(path, err, "%s/source", p->folder) != 0 ||
        (lstat(path, &st) != 0 && claw_write_atomic(path, source, strlen(source), err) != 0))
        return -1;
    return af_publish(&f[1], err);
}

static int save_real(const place *p, int src, const struct stat *st, int keep,
                     claw_backup_info *out, claw_err *err)
{
    manifest m = {0};
    atomic_file f[2];
    af_init(&f[0]);
    af_init(&f[1]);
    if (claw_make_dirs(p->folder, err) != 0)
        return -1;
    int lock = lock_folder(p->folder, err);
    if (lock < 0)
        return -1;
    int rc = manifest_load(p->sums, &m, err);
    if (rc == 0) {
        new_id(&m, p->folder, out->id);
        out->time = id_time(out->id);
        rc = fmt_path(out->path, err, "%s/%s", p->folder, out->id);
    }
    if (rc == 0)
        rc = save_copies(p, src, st, f, out, err);
    if (rc == 0)
        rc = save_publish(p, &m, keep, f, out, err);
    af_abort(&f[0]);
    af_abort(&f[1]);
    manifest_free(&m);
    close(lock);
    return rc;
}

/* A dry run reads the source in full (it must be readable) and names the copy that a
 * real save would make now; it creates no directory. */
static int save_dry(const place *p, int src, claw_backup_info *out, claw_err *err)
{
    manifest m;
    if (manifest_load(p->sums, &m, err) != 0)
        return -1;
    new_id(&m, p->folder, out->id);
    manifest_free(&m);
    out->time = id_time(out->id);
    if (fmt_path(out->path, err, "%s/%s", p->folder, out->id) != 0)
        return -1;
    return stream(src, p->source, NULL, 0, out->sha256, &out->size, err);
}

int claw_backup_save(const char *path, const claw_backup_opts *o, claw_backup_info *out,
                     claw_err *err)
{
    place p;
    struct stat st;
    claw_backup_info info;
    if (locate(path, o, &p, err) != 0)
        return -1;
    int src = open_source(p.source, &st, err);
    if (src < 0)
        return -1;
    memset(&info, 0, sizeof info);
    snprintf(info.source, sizeof info.source, "%s", p.source);
    int keep = o->keep > 0 ? o->keep : DEFAULT_KEEP;
    int rc = o->dry_run ? save_dry(&p, src, &info, err)
                        : save_real(&p, src, &st, keep, &info, err);
    close(src);
    if (rc == 0 && out)
        *out = info;
    return rc;
}

/* ---- restore --------------------------------------------------------------------- */

static int no_backup(claw_err *err, const char *which, const char *source)
{
    if (!which)
        return claw_fail(err, CLAW_E_NOT_FOUND, 0, "no backup of %s", source);
    return claw_fail(err, CLAW_E_NOT_FOUND, 0, "no backup \"%s\" of %s", which, source);
}

/* Chooses the copy named by `which`; fills info except size (and, for .pre-update,
 * sha256 and time, which are known only once it has been read). */
static int pick(const place *p, const manifest *m, const char *which, claw_backup_info *info,
                claw_err *err)
{
    const entry *e = NULL;
    if (!which || strcmp(which, "latest") == 0) {
        if (m->n == 0)
            return no_backup(err, NULL, p->source);
        e = &m->v[m->n - 1];
    } else if (strcmp(which, "pre-update") == 0) {
        snprintf(info->id, sizeof info->id, "pre-update");
        snprintf(info->path, sizeof info->path, "%s", p->preupdate);
        snprintf(info->source, sizeof info->source, "%s", p->source);
        return 0;
    } else if (which[0] && strspn(which, "0123456789") == strlen(which)) {
        unsigned long k = strtoul(which, NULL, 10); /* 1 = newest */
        if (k >= 1 && k <= m->n)
            e = &m->v[m->n - k];
    } else {
        e = manifest_find(m, which);
    }
    if (!e)
        return no_backup(err, which, p->source);
    return describe(p, e, info, err);
}

/* Checks what was read against the record; a .pre-update copy is checked against the
 * newest entry with its content (see backup.h), which also dates it. */
static int verify(const place *p, const manifest *m, const char *got, claw_backup_info *info,
                  claw_err *err)
{
    if (strcmp(info->id, "pre-update") == 0) {
        const entry *e = manifest_find_sha(m, got);
        if (!e && m->n == 0)
            return claw_fail(err, CLAW_E_CHECKSUM, 0,
                             "backup pre-update of %s cannot be verified: no entry in %s",
                             p->source, p->sums);
        if (e) {
            snprintf(info->sha256, sizeof info->sha256, "%s", got);
            info->time = id_time(e->id);
            return 0;
        }
    } else if (strcmp(info->sha256, got) == 0) {
        return 0;
    }
    return claw_fail(err, CLAW_E_CHECKSUM, 0, "backup %s of %s is corrupt: sha256 mismatch",
                     info->id, p->source);
}

static int open_copy(const place *p, const claw_backup_info *info, struct stat *st,
                     claw_err *err)
{
    int fd = open(info->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && strcmp(info->id, "pre-update") == 0)
        return no_backup(err, "pre-update", p->source);
    if (fd < 0)
        return claw_fail_errno(err, errno, "cannot read backup %s of %s", info->id, p->source);
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return claw_fail(err, CLAW_E_IO, 0, "cannot read backup %s of %s: not a regular file",
                         info->id, p->source);
    }
    return fd;
}

/* Copies the chosen copy beside the original, verifying it on the way, and renames it
 * over the original only when it matches. */
static int restore_from(const place *p, const manifest *m, int src, const struct stat *copy_st,
                        int dry_run, claw_backup_info *info, claw_err *err)
{
    char got[65];
    struct stat cur;
    atomic_file f;
    af_init(&f);
    int rc = dry_run ? 0 : af_open(&f, p->source, err);
    if (rc == 0)
        rc = stream(src, info->path, dry_run ? NULL : &f, dry_run ? 0 : 1, got, &info->size,
                    err);
    if (rc == 0)
        rc = verify(p, m, got, info, err);
    if (rc == 0 && !dry_run) {
        const struct stat *like = stat(p->source, &cur) == 0 ? &cur : copy_st;
        rc = af_finish(&f, like, err);
        if (rc == 0)
            rc = af_publish(&f, err);
    }
    af_abort(&f);
    return rc;
}

int claw_backup_restore(const char *path, const char *which, const claw_backup_opts *o,
                        claw_backup_info *out, claw_err *err)
{
    place p;
    manifest m;
    struct stat st;
    claw_backup_info info;
    memset(&info, 0, sizeof info);
    if (locate(path, o, &p, err) != 0 || manifest_load(p.sums, &m, err) != 0)
        return -1;
    int rc = pick(&p, &m, which, &info, err);
    int src = rc == 0 ? open_copy(&p, &info, &st, err) : -1;
    if (src >= 0) {
        rc = restore_from(&p, &m, src, &st, o->dry_run, &info, err);
        close(src);
    } else {
        rc = -1;
    }
    manifest_free(&m);
    if (rc == 0 && out)
        *out = info;
    return rc;
}

/* ---- list ------------------------------------------------------------------------ */

static cJSON *info_json(const claw_backup_info *info)
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", info->id) ||
        !cJSON_AddStringToObject(o, "path", info->path) ||
        !cJSON_AddStringToObject(o, "source", info->source) ||
        !cJSON_AddStringToObject(o, "sha256", info->sha256) ||
        !cJSON_AddNumberToObject(o, "size", (double)info->size) ||
        !cJSON_AddNumberToObject(o, "time", info->time)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *claw_backup_list(const char *path, const claw_backup_opts *o, claw_err *err)
{
    place p;
    manifest m;
    struct stat st;
    claw_backup_info info;
    if (locate(path, o, &p, err) != 0 || manifest_load(p.sums, &m, err) != 0)
        return NULL;
    cJSON *arr = cJSON_CreateArray();
    int rc = arr ? 0 : claw_fail(err, CLAW_E_IO, 0, "out of memory listing %s", p.source);
    for (size_t i = m.n; rc == 0 && i > 0; i--) {
        rc = describe(&p, &m.v[i - 1], &info, err);
        if (rc == 0 && stat(info.path, &st) == 0)
            info.size = (long long)st.st_size;
        cJSON *item = rc == 0 ? info_json(&info) : NULL;
        if (rc == 0 && (!item || !cJSON_AddItemToArray(arr, item))) {
            cJSON_Delete(item);
            rc = claw_fail(err, CLAW_E_IO, 0, "out of memory listing %s", p.source);
        }
    }
    manifest_free(&m);
    if (rc != 0) {
        cJSON_Delete(arr);
        return NULL;
    }
    return arr;
}
