/* Backups of files, directories and volumes; the layout and the guarantees are
 * described in backup.h. */
#define _GNU_SOURCE /* renameat2 and RENAME_EXCHANGE, syncfs */
#include "backup.h"

#include <dirent.h>
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
#include "buf.h"

#define PATHSZ CLAW_PATHSZ
#define IDSZ 40
#define DEFAULT_KEEP 10

/* ---- paths ---------------------------------------------------------------------- */

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
    return claw_path_fmt(out, err, "%s", norm);
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

/* Reads src to its end once, hashing every byte and writing it to each of dst[0..ndst):
 * the copies and the checksum then describe the same bytes even if the source
 * changes meanwhile. */
static int stream(int src, const char *src_name, claw_atomic_file *dst, int ndst, char hex[65],
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
            rc = claw_af_write(&dst[i], buf, (size_t)n, err);
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
    int dir; /* a directory snapshot: the line names "<id>/SHA256SUMS" */
} entry;

/* The lines of SHA256SUMS, oldest first. Owned by its declarer: manifest_free. */
typedef struct manifest {
    entry *v;
    size_t n, cap;
} manifest;

#define SNAP_SUMS "/SHA256SUMS" /* how a directory snapshot's line ends */

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

static int manifest_add(manifest *m, const char *id, const char *sha, int dir, claw_err *err)
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
    m->v[m->n].dir = dir;
    m->n++;
    return 0;
}

static int is_hex64(const char *s)
{
    return strspn(s, "0123456789abcdefABCDEF") >= 64;
}

static void lower_hex(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
}

/* Parses "<64 hex>  <id>" or "<64 hex>  <id>/SHA256SUMS" (or "<hex> *...",
 * sha256sum's binary mode) in place. */
static int parse_line(char *line, char **sha, char **id, int *dir)
{
    line[strcspn(line, "\r\n")] = '\0';
    if (!is_hex64(line) || line[64] != ' ' || (line[65] != ' ' && line[65] != '*'))
        return -1;
    line[64] = '\0';
    lower_hex(line, 64);
    *sha = line;
    *id = line + 66;
    size_t n = strlen(*id), k = strlen(SNAP_SUMS);
    *dir = n > k && strcmp(*id + n - k, SNAP_SUMS) == 0;
    if (*dir)
        (*id)[n - k] = '\0';
    return valid_id(*id) ? 0 : -1;
}

/* Loads SHA256SUMS; a missing one is an empty manifest (a path never backed up). */
static int manifest_load(const char *sums, manifest *m, claw_err *err)
{
    m->v = NULL;
    m->n = m->cap = 0;
    FILE *f = fopen(sums, "r");
    if (!f)
        return errno == ENOENT ? 0 : claw_fail_errno(err, errno, "cannot read %s", sums);
    char *line = NULL, *sha, *id;
    size_t cap = 0;
    int rc = 0, dir;
    for (int no = 1; rc == 0 && getline(&line, &cap, f) >= 0; no++) {
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        if (parse_line(line, &sha, &id, &dir) != 0)
            rc = claw_fail(err, CLAW_E_PARSE, 0, "malformed line %d in %s", no, sums);
        else
            rc = manifest_add(m, id, sha, dir, err);
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
    size_t len = (m->n - from) * (64 + 2 + IDSZ + sizeof SNAP_SUMS + 1) + 1;
    char *text = malloc(len), *p = text;
    if (!text)
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    for (size_t i = from; i < m->n; i++)
        p += snprintf(p, len - (size_t)(p - text), "%s  %s%s\n", m->v[i].sha, m->v[i].id,
                      m->v[i].dir ? SNAP_SUMS : "");
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

/* The newest file copy with this content: how a .pre-update copy is verified. */
static const entry *manifest_find_sha(const manifest *m, const char *sha)
{
    for (size_t i = m->n; i > 0; i--)
        if (!m->v[i - 1].dir && strcmp(m->v[i - 1].sha, sha) == 0)
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

/* ---- where one path's backups live ---------------------------------------------- */

#define VOLUME_PREFIX "volume:"

typedef struct place {
    char source[PATHSZ];    /* the original, absolute; or "volume:NAME" */
    char data[PATHSZ];      /* where its content is: source, or the volume's mountpoint
                               once resolve_volume has asked Docker */
    char volume[256];       /* the volume's name; "" for a path */
    char store[PATHSZ];     /* the store, absolute */
    char folder[PATHSZ];    /* <store>/<basename>-<12 hex> */
    char sums[PATHSZ];      /* <folder>/SHA256SUMS */
    char preupdate[PATHSZ]; /* <source>.pre-update; "" for a volume */
} place;

/* Docker's own rule for volume names; it also keeps the folder's name safe. */
static int valid_volume(const char *name)
{
    size_t n = strlen(name);
    const char *set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if (n < 2 || n > 200 || !strchr(set, name[0]))
        return 0;
    return strspn(name, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-") == n;
}

static int locate(const char *path, const claw_backup_opts *o, place *p, claw_err *err)
{
    char hex[65], base[PATHSZ];
    p->volume[0] = p->preupdate[0] = p->data[0] = '\0';
    if (path && strncmp(path, VOLUME_PREFIX, strlen(VOLUME_PREFIX)) == 0) {
        const char *name = path + strlen(VOLUME_PREFIX);
        if (!valid_volume(name))
            return claw_fail(err, CLAW_E_INVALID, 0, "invalid volume name \"%.200s\"", name);
        snprintf(p->volume, sizeof p->volume, "%s", name);
        snprintf(p->source, sizeof p->source, "%s%s", VOLUME_PREFIX, name);
        snprintf(base, sizeof base, "volume-%s", name);
    } else {
        if (absolute(path, p->source, err) != 0)
            return -1;
        snprintf(p->data, sizeof p->data, "%s", p->source);
        snprintf(base, sizeof base, "%s", strrchr(p->source, '/') + 1);
    }
    if (!o || !o->store || !*o->store)
        return claw_fail(err, CLAW_E_INVALID, 0, "no backup store given for %s", p->source);
    if (absolute(o->store, p->store, err) != 0 ||
        sha256_buf(p->source, strlen(p->source), hex, err) != 0)
        return -1;
    /* the basename is for people; the hash of the whole path keeps apart two paths
     * named alike; 200 keeps the folder's name within NAME_MAX */
    if (claw_path_fmt(p->folder, err, "%s/%.200s-%.12s",
                 strcmp(p->store, "/") == 0 ? "" : p->store, base, hex) != 0 ||
        claw_path_fmt(p->sums, err, "%s/SHA256SUMS", p->folder) != 0 ||
        (!p->volume[0] && claw_path_fmt(p->preupdate, err, "%s.pre-update", p->source) != 0))
        return -1;
    return 0;
}

/* Fills info from a manifest entry; the size is left to the caller. */
static int describe(const place *p, const entry *e, claw_backup_info *info, claw_err *err)
{
    if (claw_path_fmt(info->path, err, "%s/%s", p->folder, e->id) != 0)
        return -1;
    snprintf(info->id, sizeof info->id, "%s", e->id);
    snprintf(info->kind, sizeof info->kind, "%s", e->dir ? "dir" : "file");
    snprintf(info->source, sizeof info->source, "%s", p->source);
    snprintf(info->sha256, sizeof info->sha256, "%s", e->sha);
    info->size = info->files = -1;
    info->time = id_time(e->id);
    return 0;
}

/* Removes a copy or a snapshot; declared here, defined with the trees below. */
static void remove_tree(const char *path);

static void remove_copy(const place *p, const entry *e)
{
    char path[PATHSZ];
    if (snprintf(path, sizeof path, "%s/%s", p->folder, e->id) >= PATHSZ)
        return;
    if (e->dir)
        remove_tree(path);
    else
        unlink(path); /* a leftover is harmless: nothing lists it */
}

/* Records a published copy or snapshot in SHA256SUMS and prunes beyond keep. The
 * manifest is written before the pruned copies are removed, so it never lists a
 * missing one. */
static int record(const place *p, manifest *m, int keep, const claw_backup_info *out,
                  int dir, claw_err *err)
{
    char path[PATHSZ], source[PATHSZ + 1];
    struct stat st;
    size_t from = m->n + 1 > (size_t)keep ? m->n + 1 - (size_t)keep : 0;
    if (manifest_add(m, out->id, out->sha256, dir, err) != 0 ||
        manifest_store(p->sums, m, from, err) != 0) {
        entry e = {.dir = dir};
        snprintf(e.id, sizeof e.id, "%s", out->id);
        remove_copy(p, &e); /* unrecorded, it could never be verified */
        return -1;
    }
    for (size_t i = 0; i < from; i++)
        remove_copy(p, &m->v[i]);
    snprintf(source, sizeof source, "%s\n", p->source);
    if (claw_path_fmt(path, err, "%s/source", p->folder) != 0 ||
        (lstat(path, &st) != 0 && claw_write_atomic(path, source, strlen(source), err) != 0))
        return -1;
    return 0;
}

/* Serialises saves of one path by different processes (fcntl locks are per process),
 * so that two saves never rewrite SHA256SUMS from the same old copy. Closing the
 * returned descriptor releases the lock. */
static int lock_folder(const char *folder, claw_err *err)
{
    char path[PATHSZ];
    if (claw_path_fmt(path, err, "%s/.lock", folder) != 0)
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

/* ---- directory trees ------------------------------------------------------------- */

#define MAX_DEPTH 128 /* a walk holds two descriptors open per level */

/* A line of a snapshot's own SHA256SUMS. */
typedef struct tree_file {
    char *rel; /* below tree/, unescaped */
    char sha[65];
    int seen; /* restoring: met in the snapshot */
} tree_file;

/* One pass over a tree. Saving copies a live directory into a snapshot (or, in a dry
 * run, only reads it) and writes the snapshot's manifest; restoring copies a snapshot
 * into a new tree (or only reads it) and checks every file against the manifest.
 * Owned by its declarer: walk_free. */
typedef struct tree_walk {
    int restoring;
    const char *source;    /* what messages name: the path, or "volume:NAME" */
    const char *id;        /* restoring: the snapshot's id */
    claw_buf sums;         /* saving: the manifest being written */
    tree_file *files;      /* restoring: the manifest, sorted by rel */
    size_t nfiles;
    char rel[PATHSZ];      /* the entry at hand, relative to the root; "" is the root */
    int depth;
    long long size, count; /* bytes and regular files copied */
} tree_walk;

enum { CHANGED = 1 }; /* saving: something changed while it was being copied */

static void walk_init(tree_walk *w, int restoring, const char *source, const char *id)
{
    memset(w, 0, sizeof *w);
    w->restoring = restoring;
    w->source = source;
    w->id = id;
    claw_buf_init(&w->sums);
}

static void walk_free(tree_walk *w)
{
    claw_buf_free(&w->sums);
    for (size_t i = 0; i < w->nfiles; i++)
        free(w->files[i].rel);
    free(w->files);
    w->files = NULL;
    w->nfiles = 0;
}

/* "cannot back up /x/state: cannot read a/b: Permission denied" */
static int walk_fail(const tree_walk *w, int e, const char *doing, claw_err *err)
{
    const char *what = w->rel[0] ? w->rel : "its top directory";
    if (w->restoring)
        return claw_fail_errno(err, e, "cannot restore %s from backup %s: cannot %s %s",
                               w->source, w->id, doing, what);
    return claw_fail_errno(err, e, "cannot back up %s: cannot %s %s", w->source, doing, what);
}

static int corrupt(const tree_walk *w, claw_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int corrupt(const tree_walk *w, claw_err *err, const char *fmt, ...)
{
    char why[PATHSZ + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return claw_fail(err, CLAW_E_CHECKSUM, 0, "backup %s of %s is corrupt: %s", w->id,
                     w->source, why);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* The names in the directory fd but "." and "..", sorted bytewise: the manifest's
 * order, so that one tree always gives one manifest. Reading them all first also lets
 * a caller delete while it goes through them. NULL with errno set on failure. */
static char **list_names(int fd, size_t *count)
{
    int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    DIR *d = dupfd >= 0 ? fdopendir(dupfd) : NULL;
    if (!d) {
        int e = errno;
        if (dupfd >= 0)
            close(dupfd);
        errno = e;
        return NULL;
    }
    rewinddir(d); /* the duplicate shares fd's offset */
    char **v = NULL;
    size_t n = 0, cap = 0;
    int e = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            e = errno;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (n == cap) {
            char **nv = realloc(v, (cap = cap ? 2 * cap : 32) * sizeof *v);
            if (!nv) {
                e = ENOMEM;
                break;
            }
            v = nv;
        }
        if (!(v[n] = strdup(de->d_name))) {
            e = ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (!e && !v && !(v = malloc(sizeof *v)))
        e = ENOMEM;
    if (e) {
        free_names(v, n);
        errno = e;
        return NULL;
    }
    qsort(v, n, sizeof *v, cmp_str);
    *count = n;
    return v;
}

/* Removes name in dirfd and everything below it, never following a symlink. */
static int remove_at(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0);
    /* a snapshot keeps read-only directories read-only: open them up to empty them */
    if ((st.st_mode & 0700) != 0700 && fchmodat(dirfd, name, 0700, 0) != 0)
        return -1;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = 0;
    char **names = list_names(fd, &n);
    int rc = names ? 0 : -1;
    for (size_t i = 0; i < n; i++)
        if (remove_at(fd, names[i]) != 0)
            rc = -1;
    free_names(names, n);
    close(fd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0)
        rc = -1;
    return rc;
}

/* Best effort: what is left is a hidden folder that nothing lists. */
static void remove_tree(const char *path)
{
    (void)remove_at(AT_FDCWD, path);
}

/* Gives a copy its original's owner (as root: only root can give a file away), mode
 * and times. fchown comes first because it may clear the set-id bits; the times come
 * last, once nothing more is written into a directory. */
static int set_meta(const tree_walk *w, int fd, const struct stat *st, claw_err *err)
{
    struct timespec t[2] = {st->st_atim, st->st_mtim};
    if ((geteuid() == 0 && fchown(fd, st->st_uid, st->st_gid) != 0) ||
        fchmod(fd, st->st_mode & 07777) != 0 || futimens(fd, t) != 0)
        return walk_fail(w, errno, "write", err);
    return 0;
}

static int same_version(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Reads src to its end once (with limit >= 0, to one byte past limit at most: the
 * file grew), hashing every byte and writing it to dst unless dst < 0. */
static int hash_copy(const tree_walk *w, int src, int dst, long long limit, char hex[65],
                     long long *size, claw_err *err)
{
    char buf[65536];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int rc = 0;
    *size = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        rc = claw_fail(err, CLAW_E_IO, 0, "cannot hash %s: OpenSSL failed", w->rel);
    while (rc == 0 && (limit < 0 || *size <= limit)) {
        ssize_t n = read(src, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = walk_fail(w, errno, "read", err);
        if (n <= 0)
            break;
        *size += n;
        if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
            rc = claw_fail(err, CLAW_E_IO, 0, "cannot hash %s: OpenSSL failed", w->rel);
        else if (dst >= 0 && claw_write_all(dst, buf, (size_t)n) != 0)
            rc = walk_fail(w, errno, "write", err);
    }
    if (rc == 0 && !EVP_DigestFinal_ex(ctx, md, &mdlen))
        rc = claw_fail(err, CLAW_E_IO, 0, "cannot hash %s: OpenSSL failed", w->rel);
    EVP_MD_CTX_free(ctx);
    if (rc == 0)
        to_hex(md, mdlen, hex);
    return rc;
}

/* Appends a manifest line the way sha256sum writes one: a name holding a backslash
 * or a newline is escaped, and its line starts with a backslash. */
static int sums_add(claw_buf *b, const char *hex, const char *rel)
{
    int esc = strpbrk(rel, "\\\n") != NULL;
    int rc = claw_buf_printf(b, "%s%s  tree/", esc ? "\\" : "", hex);
    for (const char *c = rel; rc == 0 && *c; c++) {
        if (esc && *c == '\\')
            rc = claw_buf_str(b, "\\\\");
        else if (esc && *c == '\n')
            rc = claw_buf_str(b, "\\n");
        else
            rc = claw_buf_add(b, c, 1);
    }
    return rc == 0 ? claw_buf_str(b, "\n") : rc;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const tree_file *)a)->rel, ((const tree_file *)b)->rel);
}

/* Restoring: the file just read must be in the manifest with this content. */
static int check_file(tree_walk *w, const char *hex, claw_err *err)
{
    tree_file key = {.rel = w->rel};
    tree_file *f = w->nfiles ? bsearch(&key, w->files, w->nfiles, sizeof *f, cmp_file) : NULL;
    if (!f)
        return corrupt(w, err, "%s is not in its manifest", w->rel);
    if (strcmp(f->sha, hex) != 0)
        return corrupt(w, err, "sha256 mismatch in %s", w->rel);
    f->seen = 1;
    return 0;
}

/* Restoring: every file the manifest lists must have been met. */
static int check_seen(const tree_walk *w, claw_err *err)
{
    for (size_t i = 0; i < w->nfiles; i++)
        if (!w->files[i].seen)
            return corrupt(w, err, "%s is missing", w->files[i].rel);
    return 0;
}

/* Copies a regular file, reading it once. Saving, it must not change meanwhile (size
 * and mtime before and after) and goes into the manifest; restoring, it must match
 * its manifest line. */
static int copy_file(tree_walk *w, int src, int dst, const char *name, claw_err *err)
{
    struct stat before, after;
    char hex[65];
    long long got = 0;
    int d = -1;
    /* O_NONBLOCK: a FIFO put in its place meanwhile must not hang the open */
    int s = openat(src, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (s < 0)
        return !w->restoring && (errno == ENOENT || errno == ELOOP)
                   ? CHANGED
                   : walk_fail(w, errno, "read", err);
    int rc = fstat(s, &before) != 0 ? walk_fail(w, errno, "read", err) : 0;
    if (rc == 0 && !S_ISREG(before.st_mode))
        rc = w->restoring ? corrupt(w, err, "%s is not a regular file", w->rel) : CHANGED;
    if (rc == 0 && dst >= 0 &&
        (d = openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        rc = walk_fail(w, errno, "write", err);
    if (rc == 0)
        rc = hash_copy(w, s, d, w->restoring ? -1 : (long long)before.st_size, hex, &got, err);
    if (rc == 0 && !w->restoring &&
        (fstat(s, &after) != 0 || got != (long long)before.st_size ||
         !same_version(&before, &after)))
        rc = CHANGED;
    if (rc == 0 && w->restoring)
        rc = check_file(w, hex, err);
    if (rc == 0 && d >= 0)
        rc = set_meta(w, d, &before, err);
    if (rc == 0 && !w->restoring && sums_add(&w->sums, hex, w->rel) != 0)
        rc = claw_fail(err, CLAW_E_IO, 0, "out of memory");
    if (d >= 0 && close(d) != 0 && rc == 0)
        rc = walk_fail(w, errno, "write", err);
    close(s);
    if (rc == 0) {
        w->size += got;
        w->count++;
    }
    return rc;
}

/* Copies a symlink as a symlink, with its owner (as root) and times. */
static int copy_link(tree_walk *w, int src, int dst, const char *name, const struct stat *st,
                     claw_err *err)
{
    char target[PATHSZ];
    ssize_t n = readlinkat(src, name, target, sizeof target);
    if (n < 0)
        return !w->restoring && (errno == ENOENT || errno == EINVAL)
                   ? CHANGED
                   : walk_fail(w, errno, "read", err);
    if ((size_t)n >= sizeof target)
        return walk_fail(w, ENAMETOOLONG, "read", err);
    target[n] = '\0';
    struct timespec t[2] = {st->st_atim, st->st_mtim};
    if (dst >= 0 &&
        (symlinkat(target, dst, name) != 0 ||
         (geteuid() == 0 && fchownat(dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW)) ||
         utimensat(dst, name, t, AT_SYMLINK_NOFOLLOW) != 0))
        return walk_fail(w, errno, "write", err);
    return 0;
}

static int walk_dir(tree_walk *w, int src, int dst, claw_err *err);

/* Copies a directory and, depth first, what it holds; its own mode and times are set
 * once it is full (a read-only directory can be filled first). */
static int copy_dir(tree_walk *w, int src, int dst, const char *name, const struct stat *st,
                    claw_err *err)
{
    struct stat after;
    if (w->depth >= MAX_DEPTH)
        return claw_fail(err, CLAW_E_INVALID, 0, "cannot %s %s: %s is nested more than %d deep",
                         w->restoring ? "restore" : "back up", w->source, w->rel, MAX_DEPTH);
    int s = openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0)
        return !w->restoring && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
                   ? CHANGED
                   : walk_fail(w, errno, "read", err);
    int d = -1, rc = 0;
    if (dst >= 0 &&
        (mkdirat(dst, name, 0700) != 0 ||
         (d = openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0))
        rc = walk_fail(w, errno, "write", err);
    if (rc == 0) {
        w->depth++;
        rc = walk_dir(w, s, d, err);
        w->depth--;
    }
    /* an entry added or removed meanwhile changes the directory's mtime */
    if (rc == 0 && !w->restoring && (fstat(s, &after) != 0 || !same_version(st, &after)))
        rc = CHANGED;
    if (rc == 0 && d >= 0)
        rc = set_meta(w, d, st, err);
    if (d >= 0)
        close(d);
    close(s);
    return rc;
}

static const char *special_kind(mode_t m)
{
    return S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
           : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : "a special file";
}

static int walk_entry(tree_walk *w, int src, int dst, const char *name, claw_err *err)
{
    struct stat st;
    if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return !w->restoring && errno == ENOENT ? CHANGED : walk_fail(w, errno, "read", err);
    if (S_ISREG(st.st_mode))
        return copy_file(w, src, dst, name, err);
    if (S_ISDIR(st.st_mode))
        return copy_dir(w, src, dst, name, &st, err);
    if (S_ISLNK(st.st_mode))
        return copy_link(w, src, dst, name, &st, err);
    if (w->restoring)
        return corrupt(w, err, "%s is %s", w->rel, special_kind(st.st_mode));
    return claw_fail(err, CLAW_E_INVALID, 0,
                     "cannot back up %s: %s is %s; a snapshot keeps only regular files, "
                     "directories and symlinks",
                     w->source, w->rel, special_kind(st.st_mode));
}

/* Copies what the directory src holds into dst (dst < 0: reads only), in name order.
 * 0, CHANGED or -1; on failure w->rel names the entry at fault. */
static int walk_dir(tree_walk *w, int src, int dst, claw_err *err)
{
    size_t n = 0, len = strlen(w->rel);
    char **names = list_names(src, &n);
    if (!names)
        return walk_fail(w, errno, "read", err);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int k = snprintf(w->rel + len, PATHSZ - len, "%s%s", len ? "/" : "", names[i]);
        if (k < 0 || (size_t)k >= PATHSZ - len)
            rc = walk_fail(w, ENAMETOOLONG, "read", err);
        else
            rc = walk_entry(w, src, dst, names[i], err);
        if (rc == 0)
            w->rel[len] = '\0';
    }
    free_names(names, n);
    return rc;
}

/* The whole of a small file (a manifest), NUL-terminated; NULL on failure. */
static char *read_all(const char *path, size_t *len, claw_err *err)
{
    char buf[65536];
    claw_buf b;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        claw_fail_errno(err, errno, "cannot read %s", path);
        return NULL;
    }
    claw_buf_init(&b);
    int rc = claw_buf_add(&b, "", 0);
    while (rc == 0) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                rc = claw_fail_errno(err, errno, "cannot read %s", path);
            break;
        }
        rc = claw_buf_add(&b, buf, (size_t)n);
    }
    close(fd);
    if (rc != 0 || !b.data) {
        if (rc == 0)
            claw_fail(err, CLAW_E_IO, 0, "out of memory reading %s", path);
        claw_buf_free(&b);
        return NULL;
    }
    return claw_buf_take(&b, len);
}

/* Parses "<hex>  tree/<name>", or "\<hex>  tree/<escaped name>", in place. */
static int parse_tree_line(char *line, tree_file *f)
{
    int esc = line[0] == '\\';
    line += esc;
    if (!is_hex64(line) || line[64] != ' ' || (line[65] != ' ' && line[65] != '*') ||
        strncmp(line + 66, "tree/", 5) != 0)
        return -1;
    memcpy(f->sha, line, 64);
    f->sha[64] = '\0';
    lower_hex(f->sha, 64);
    char *name = line + 71, *o = name;
    for (char *c = name; *c; c++) {
        if (!esc || *c != '\\')
            *o++ = *c;
        else if (*++c == '\\')
            *o++ = '\\';
        else if (*c == 'n')
            *o++ = '\n';
        else
            return -1;
    }
    *o = '\0';
    f->seen = 0;
    f->rel = name[0] ? strdup(name) : NULL;
    return f->rel ? 0 : -1;
}

/* Parses a snapshot's SHA256SUMS (text, modified) into w->files, sorted by name. */
static int parse_tree_sums(tree_walk *w, char *text, const char *where, claw_err *err)
{
    size_t cap = 0;
    int no = 0;
    for (char *line = text, *next; line && *line; line = next) {
        tree_file f;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        no++;
        if (!*line)
            continue;
        if (parse_tree_line(line, &f) != 0)
            return claw_fail(err, CLAW_E_PARSE, 0, "malformed line %d in %s", no, where);
        if (w->nfiles == cap) {
            tree_file *v = realloc(w->files, (cap = cap ? 2 * cap : 64) * sizeof *v);
            if (!v) {
                free(f.rel);
                return claw_fail(err, CLAW_E_IO, 0, "out of memory reading %s", where);
            }
            w->files = v;
        }
        w->files[w->nfiles++] = f;
    }
    if (w->nfiles)
        qsort(w->files, w->nfiles, sizeof *w->files, cmp_file);
    return 0;
}

/* Loads a snapshot's manifest into w after checking it against its line in the
 * folder's SHA256SUMS: the chain that vouches for every file. */
static int load_snapshot(const place *p, const entry *e, tree_walk *w, claw_err *err)
{
    char sums[PATHSZ], hex[65];
    size_t len = 0;
    struct stat st;
    if (claw_path_fmt(sums, err, "%s/%s" SNAP_SUMS, p->folder, e->id) != 0)
        return -1;
    if (lstat(sums, &st) != 0 && errno == ENOENT)
        return corrupt(w, err, "its SHA256SUMS is missing");
    char *text = read_all(sums, &len, err);
    if (!text)
        return -1;
    int rc = sha256_buf(text, len, hex, err);
    if (rc == 0 && strcmp(hex, e->sha) != 0)
        rc = corrupt(w, err, "sha256 mismatch in SHA256SUMS");
    if (rc == 0 && strlen(text) != len)
        rc = claw_fail(err, CLAW_E_PARSE, 0, "malformed %s: a NUL byte", sums);
    if (rc == 0)
        rc = parse_tree_sums(w, text, sums, err);
    free(text);
    return rc;
}

/* A snapshot of a directory holding the store would copy itself, and a restore of it
 * would delete the store. Lexical, like every path here. */
static int store_inside(const place *p, const char *dir, const char *verb, claw_err *err)
{
    size_t n = strlen(dir);
    if (strncmp(p->store, dir, n) == 0 &&
        (p->store[n] == '\0' || p->store[n] == '/' || strcmp(dir, "/") == 0))
        return claw_fail(err, CLAW_E_INVALID, 0, "cannot %s %s: the backup store %s is inside it",
                         verb, p->source, p->store);
    return 0;
}

/* ---- saving a directory ---------------------------------------------------------- */

static int write_sums(int top, const char *tmp, const claw_buf *sums, claw_err *err)
{
    int fd = openat(top, "SHA256SUMS", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || claw_write_all(fd, sums->data ? sums->data : "", sums->len) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return claw_fail_errno(err, e, "cannot write %s" SNAP_SUMS, tmp);
    }
    if (close(fd) != 0)
        return claw_fail_errno(err, errno, "cannot write %s" SNAP_SUMS, tmp);
    return 0;
}

/* One pass over the directory p->data into the snapshot folder tmp (NULL: a dry run,
 * which reads only): its tree/, then its SHA256SUMS, made durable with syncfs (one
 * call for every file and folder written). 0, CHANGED (then *changed names what
 * changed) or -1. */
static int snapshot_once(const place *p, const char *tmp, claw_backup_info *out,
                         char changed[PATHSZ], claw_err *err)
{
    tree_walk w;
    struct stat st, after;
    int top = -1, dst = -1, rc = 0;
    walk_init(&w, 0, p->source, NULL);
    int src = open(p->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (src < 0 || fstat(src, &st) != 0)
        rc = walk_fail(&w, errno, "read", err);
    if (rc == 0 && tmp &&
        ((top = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
         mkdirat(top, "tree", 0700) != 0 ||
         (dst = openat(top, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0))
        rc = claw_fail_errno(err, errno, "cannot write %s/tree", tmp);
    if (rc == 0)
        rc = walk_dir(&w, src, dst, err);
    if (rc == 0 && (fstat(src, &after) != 0 || !same_version(&st, &after)))
        rc = CHANGED;
    if (rc == CHANGED &&
        snprintf(changed, PATHSZ, "%s%s%s", p->data, w.rel[0] ? "/" : "", w.rel) >= PATHSZ)
        snprintf(changed, PATHSZ, "%s", w.rel);
    if (rc == 0 && dst >= 0)
        rc = set_meta(&w, dst, &st, err);
    if (rc == 0)
        rc = sha256_buf(w.sums.data ? w.sums.data : "", w.sums.len, out->sha256, err);
    if (rc == 0 && top >= 0)
        rc = write_sums(top, tmp, &w.sums, err);
    if (rc == 0 && top >= 0 && syncfs(top) != 0)
        rc = claw_fail_errno(err, errno, "cannot write %s", tmp);
    out->size = w.size;
    out->files = w.count;
    if (dst >= 0)
        close(dst);
    if (top >= 0)
        close(top);
    if (src >= 0)
        close(src);
    walk_free(&w);
    return rc;
}

static int changed_twice(const place *p, const char *changed, claw_err *err)
{
    return claw_fail(err, CLAW_E_CONFLICT, 0,
                     "cannot back up %s: %s changed while being copied, twice in a row; "
                     "stop what writes to it and save again",
                     p->source, changed);
}

/* Builds the snapshot under a hidden name (starting over once if the tree changed
 * meanwhile), renames it to <id> and only then records it. */
static int save_tree_real(const place *p, int keep, claw_backup_info *out, claw_err *err)
{
    manifest m = {0};
    char tmp[PATHSZ], changed[PATHSZ] = "";
    if (claw_make_dirs(p->folder, err) != 0)
        return -1;
    int lock = lock_folder(p->folder, err);
    if (lock < 0)
        return -1;
    int rc = manifest_load(p->sums, &m, err);
    if (rc == 0) {
        new_id(&m, p->folder, out->id);
        out->time = id_time(out->id);
        rc = claw_path_fmt(out->path, err, "%s/%s", p->folder, out->id);
    }
    for (int attempt = 1; rc == 0; attempt++) {
        rc = claw_path_fmt(tmp, err, "%s/.%s.XXXXXX", p->folder, out->id);
        if (rc == 0 && !mkdtemp(tmp))
            rc = claw_fail_errno(err, errno, "cannot write %s", tmp);
        else if (rc == 0 && (rc = snapshot_once(p, tmp, out, changed, err)) != 0)
            remove_tree(tmp);
        if (rc != CHANGED || attempt == 2)
            break;
        rc = 0;
    }
    if (rc == CHANGED)
        rc = changed_twice(p, changed, err);
    if (rc == 0 && rename(tmp, out->path) != 0) {
        rc = claw_fail_errno(err, errno, "cannot write %s", out->path);
        remove_tree(tmp);
    }
    if (rc == 0 && claw_sync_dir_of(out->path, err) != 0) {
        remove_tree(out->path);
        rc = -1;
    }
    if (rc == 0)
        rc = record(p, &m, keep, out, 1, err);
    manifest_free(&m);
    close(lock);
    return rc;
}

static int save_tree_dry(const place *p, claw_backup_info *out, claw_err *err)
{
    manifest m;
    char changed[PATHSZ] = "";
    if (manifest_load(p->sums, &m, err) != 0)
        return -1;
    new_id(&m, p->folder, out->id);
    manifest_free(&m);
    out->time = id_time(out->id);
    if (claw_path_fmt(out->path, err, "%s/%s", p->folder, out->id) != 0)
        return -1;
    int rc = snapshot_once(p, NULL, out, changed, err);
    if (rc == CHANGED)
        rc = snapshot_once(p, NULL, out, changed, err);
    return rc == CHANGED ? changed_twice(p, changed, err) : rc;
}

/* ---- restoring a directory ------------------------------------------------------- */

/* Where a directory restore goes: the path itself, or the directory a symlink there
 * points to (the link stays). *cur describes what is there; *exists whether anything. */
static int restore_target(const place *p, char target[PATHSZ], struct stat *cur, int *exists,
                          claw_err *err)
{
    struct stat real;
    *exists = lstat(p->data, cur) == 0;
    if (!*exists && errno != ENOENT)
        return claw_fail_errno(err, errno, "cannot restore %s", p->source);
    if (*exists && S_ISLNK(cur->st_mode) && stat(p->data, &real) == 0 && S_ISDIR(real.st_mode)) {
        char *resolved = realpath(p->data, NULL);
        if (!resolved)
            return claw_fail_errno(err, errno, "cannot restore %s", p->source);
        int rc = claw_path_fmt(target, err, "%s", resolved);
        free(resolved);
        *cur = real;
        return rc;
    }
    return claw_path_fmt(target, err, "%s", p->data);
}

/* Builds the snapshot's tree in a new hidden sibling of target (tmp), checking every
 * file on the way and that none is missing, gives its root the mode and owner of
 * `keep` (the current directory, else the snapshot's) and makes it durable. With
 * target NULL it only reads and checks. On failure nothing is left behind. */
static int build_tree(tree_walk *w, int src, const struct stat *snap, const char *target,
                      const struct stat *keep, char tmp[PATHSZ], claw_err *err)
{
    int dst = -1, rc = 0;
    tmp[0] = '\0';
    if (target) {
        const char *slash = strrchr(target, '/');
        rc = claw_path_fmt(tmp, err, "%.*s/.%.200s.restore-XXXXXX", (int)(slash - target), target,
                      slash + 1);
        if (rc == 0 && !mkdtemp(tmp)) {
            rc = claw_fail_errno(err, errno, "cannot restore %s: cannot create %s", w->source,
                                 tmp);
            tmp[0] = '\0';
        }
        if (rc == 0 && (dst = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
            rc = claw_fail_errno(err, errno, "cannot restore %s: cannot open %s", w->source, tmp);
    }
    if (rc == 0)
        rc = walk_dir(w, src, dst, err);
    if (rc == 0)
        rc = check_seen(w, err);
    if (rc == 0 && dst >= 0) {
        struct stat like = *snap;
        if (keep) {
            like.st_mode = keep->st_mode;
            like.st_uid = keep->st_uid;
            like.st_gid = keep->st_gid;
        }
        rc = set_meta(w, dst, &like, err);
    }
    if (rc == 0 && dst >= 0 && syncfs(dst) != 0)
        rc = claw_fail_errno(err, errno, "cannot restore %s: cannot sync %s", w->source, tmp);
    if (dst >= 0)
        close(dst);
    if (rc != 0 && tmp[0]) {
        remove_tree(tmp);
        tmp[0] = '\0';
    }
    return rc;
}

static int swap_failed(const char *source, int e, claw_err *err)
{
    return claw_fail(err, e == ENOENT ? CLAW_E_NOT_FOUND : CLAW_E_IO, 0,
                     "cannot restore %s: cannot put the restored tree in place: %s%s", source,
                     strerror(e), e == EBUSY || e == EXDEV ? " (is it a mount point?)" : "");
}

/* Puts the tree at tmp in place of target: one atomic exchange where the file system
 * has it, else the old tree renamed aside and the new one renamed in. *old then names
 * what was there before (tmp itself after an exchange) for the caller to remove, or
 * is "" when nothing was. */
static int swap_in(const char *source, const char *tmp, const char *target, int exists,
                   char old[PATHSZ], claw_err *err)
{
    old[0] = '\0';
    if (!exists)
        return rename(tmp, target) == 0 ? 0 : swap_failed(source, errno, err);
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, target, RENAME_EXCHANGE) == 0)
        return claw_path_fmt(old, err, "%s", tmp);
    if (errno != EINVAL && errno != ENOSYS)
        return swap_failed(source, errno, err);
    char aside[PATHSZ];
    if (claw_path_fmt(aside, err, "%s.old", tmp) != 0)
        return -1;
    if (rename(target, aside) != 0)
        return swap_failed(source, errno, err);
    if (rename(tmp, target) != 0) {
        int e = errno;
        (void)rename(aside, target);
        return swap_failed(source, e, err);
    }
    return claw_path_fmt(old, err, "%s", aside);
}

/* Verifies and rebuilds the snapshot beside the directory, swaps it in, then removes
 * the old tree. The store's lock keeps a concurrent save from pruning the snapshot
 * while it is read. */
static int restore_tree(const place *p, const entry *e, int dry_run, claw_backup_info *info,
                        claw_err *err)
{
    tree_walk w;
    char snap[PATHSZ], target[PATHSZ], tmp[PATHSZ] = "", old[PATHSZ];
    struct stat tst, cur;
    int exists = 0, src = -1, lock = -1;
    walk_init(&w, 1, p->source, e->id);
    int rc = claw_path_fmt(snap, err, "%s/%s/tree", p->folder, e->id);
    if (rc == 0 && !dry_run && (lock = lock_folder(p->folder, err)) < 0)
        rc = -1;
    if (rc == 0)
        rc = load_snapshot(p, e, &w, err);
    if (rc == 0 && ((src = open(snap, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
                    fstat(src, &tst) != 0))
        rc = errno == ENOENT ? corrupt(&w, err, "its tree/ is missing")
                             : walk_fail(&w, errno, "read", err);
    if (rc == 0)
        rc = restore_target(p, target, &cur, &exists, err);
    if (rc == 0)
        rc = store_inside(p, target, "restore", err);
    if (rc == 0)
        rc = build_tree(&w, src, &tst, dry_run ? NULL : target,
                        exists && S_ISDIR(cur.st_mode) ? &cur : NULL, tmp, err);
    if (rc == 0 && !dry_run) {
        rc = swap_in(p->source, tmp, target, exists, old, err);
        if (rc != 0)
            remove_tree(tmp);
        else if (old[0])
            remove_tree(old);
        if (rc == 0)
            rc = claw_sync_dir_of(target, err);
    }
    info->size = w.size;
    info->files = w.count;
    if (src >= 0)
        close(src);
    if (lock >= 0)
        close(lock);
    walk_free(&w);
    return rc;
}

/* For a list: the size and number of a snapshot's files, from its manifest (not
 * verified: a list reads no content); -1 when it cannot be read. */
static void tree_stats(const place *p, const entry *e, claw_backup_info *info)
{
    tree_walk w;
    char path[PATHSZ];
    size_t len;
    char *text = NULL;
    walk_init(&w, 1, p->source, e->id);
    if (snprintf(path, sizeof path, "%s/%s" SNAP_SUMS, p->folder, e->id) < PATHSZ)
        text = read_all(path, &len, NULL);
    if (text && parse_tree_sums(&w, text, path, NULL) == 0 &&
        snprintf(path, sizeof path, "%s/%s/tree", p->folder, e->id) < PATHSZ) {
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0) {
            info->size = 0;
            info->files = (long long)w.nfiles;
            for (size_t i = 0; i < w.nfiles; i++)
                if (fstatat(fd, w.files[i].rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
                    info->size += (long long)st.st_size;
            close(fd);
        }
    }
    free(text);
    walk_free(&w);
}

/* ---- volumes --------------------------------------------------------------------- */

int claw_backup_volume_dir(const cJSON *volume, const char *name, char dir[PATHSZ],
                           claw_err *err)
{
    const cJSON *drv = cJSON_GetObjectItemCaseSensitive(volume, "Driver");
    const cJSON *mp = cJSON_GetObjectItemCaseSensitive(volume, "Mountpoint");
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(volume, "Options");
    if (!cJSON_IsString(drv) || strcmp(drv->valuestring, "local") != 0)
        return claw_fail(err, CLAW_E_INVALID, 0,
                         "volume %s uses the driver \"%s\": only volumes of the \"local\" "
                         "driver, whose files are on this host, can be backed up",
                         name, cJSON_IsString(drv) ? drv->valuestring : "");
    if (cJSON_IsObject(opts) && opts->child) {
        /* the keys only, and the type: "o" may hold a password (cifs) */
        char list[256] = "";
        size_t n = 0;
        for (const cJSON *c = opts->child; c && n < sizeof list; c = c->next) {
            int typed = strcmp(c->string, "type") == 0 && cJSON_IsString(c);
            int k = snprintf(list + n, sizeof list - n, "%s%s%s%s", n ? ", " : "", c->string,
                             typed ? "=" : "", typed ? c->valuestring : "");
            n += k > 0 ? (size_t)k : 0;
        }
        return claw_fail(err, CLAW_E_INVALID, 0,
                         "volume %s has mount options (%s): its files are in its mountpoint "
                         "only while a container uses it, so it cannot be backed up",
                         name, list);
    }
    if (!cJSON_IsString(mp) || mp->valuestring[0] != '/')
        return claw_fail(err, CLAW_E_DAEMON, 0, "volume %s: Docker gave no Mountpoint", name);
    return claw_path_fmt(dir, err, "%s", mp->valuestring);
}

/* Asks Docker where the volume's files are (p->data). */
static int resolve_volume(place *p, const claw_backup_opts *o, claw_err *err)
{
    char path[PATHSZ];
    cJSON *vol = NULL;
    struct stat st;
    if (!o->docker)
        return claw_fail(err, CLAW_E_INVALID, 0, "%s: no Docker client to ask where it is",
                         p->source);
    snprintf(path, sizeof path, "/volumes/%s", p->volume); /* the name is [A-Za-z0-9_.-] */
    if (claw_docker_call(o->docker, "GET", path, NULL, 60, &vol, err) != 0) {
        if (err && strcmp(err->code, CLAW_E_NOT_FOUND) == 0)
            claw_fail(err, CLAW_E_NOT_FOUND, err->status, "no such volume: %s", p->volume);
        cJSON_Delete(vol);
        return -1;
    }
    int rc = claw_backup_volume_dir(vol, p->volume, p->data, err);
    cJSON_Delete(vol);
    if (rc == 0 && (stat(p->data, &st) != 0 || !S_ISDIR(st.st_mode)))
        rc = claw_fail(err, CLAW_E_NOT_FOUND, 0,
                       "volume %s: its mountpoint %s is not a directory on this host "
                       "(is Docker on another machine?)",
                       p->volume, p->data);
    return rc;
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
    return claw_fail(err, CLAW_E_INVALID, 0,
                     "cannot back up %s: not a regular file or directory (it is %s)", src,
                     special_kind(st->st_mode));
}

/* Writes the copies (n: 2 with .pre-update, else 1) from one read of the source and
 * makes them durable, under temporary names: nothing is visible yet, so a failure
 * here changes nothing. */
static int save_copies(const place *p, int src, const struct stat *st, claw_atomic_file f[2],
                       int n, claw_backup_info *out, claw_err *err)
{
    if (claw_af_open(&f[0], out->path, err) != 0 ||
        (n == 2 && claw_af_open(&f[1], p->preupdate, err) != 0) ||
        stream(src, p->source, f, n, out->sha256, &out->size, err) != 0 ||
        claw_af_finish(&f[0], st, err) != 0 || (n == 2 && claw_af_finish(&f[1], st, err) != 0))
        return -1;
    return 0;
}

/* Makes the new copy visible and recorded (see record), then replaces .pre-update:
 * until then the old one still matches an entry (unless it was pruned). */
static int save_publish(const place *p, manifest *m, int keep, claw_atomic_file f[2], int n,
                        const claw_backup_info *out, claw_err *err)
{
    if (claw_af_publish(&f[0], err) != 0 || record(p, m, keep, out, 0, err) != 0)
        return -1;
    return n == 2 ? claw_af_publish(&f[1], err) : 0;
}

static int save_real(const place *p, int src, const struct stat *st, int keep, int n,
                     claw_backup_info *out, claw_err *err)
{
    manifest m = {0};
    claw_atomic_file f[2];
    claw_af_init(&f[0]);
    claw_af_init(&f[1]);
    if (claw_make_dirs(p->folder, err) != 0)
        return -1;
    int lock = lock_folder(p->folder, err);
    if (lock < 0)
        return -1;
    int rc = manifest_load(p->sums, &m, err);
    if (rc == 0) {
        new_id(&m, p->folder, out->id);
        out->time = id_time(out->id);
        rc = claw_path_fmt(out->path, err, "%s/%s", p->folder, out->id);
    }
    if (rc == 0)
        rc = save_copies(p, src, st, f, n, out, err);
    if (rc == 0)
        rc = save_publish(p, &m, keep, f, n, out, err);
    claw_af_abort(&f[0]);
    claw_af_abort(&f[1]);
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
    if (claw_path_fmt(out->path, err, "%s/%s", p->folder, out->id) != 0)
        return -1;
    return stream(src, p->source, NULL, 0, out->sha256, &out->size, err);
}

static int save_file(const place *p, const claw_backup_opts *o, int keep,
                     claw_backup_info *out, claw_err *err)
{
    struct stat st;
    int src = open_source(p->source, &st, err);
    if (src < 0)
        return -1;
    snprintf(out->kind, sizeof out->kind, "file");
    out->files = 1;
    int rc = o->dry_run ? save_dry(p, src, out, err)
                        : save_real(p, src, &st, keep, o->keep_pre_update ? 1 : 2, out, err);
    close(src);
    return rc;
}

int claw_backup_volume_where(const char *name, const claw_backup_opts *o, char dir[PATHSZ],
                             claw_err *err)
{
    place p;
    char path[PATHSZ];
    if (claw_path_fmt(path, err, VOLUME_PREFIX "%s", name) != 0 || locate(path, o, &p, err) != 0 ||
        resolve_volume(&p, o, err) != 0)
        return -1;
    snprintf(dir, PATHSZ, "%s", p.data);
    return 0;
}

int claw_backup_save(const char *path, const claw_backup_opts *o, claw_backup_info *out,
                     claw_err *err)
{
    place p;
    struct stat st;
    claw_backup_info info;
    if (locate(path, o, &p, err) != 0 || (p.volume[0] && resolve_volume(&p, o, err) != 0))
        return -1;
    memset(&info, 0, sizeof info);
    snprintf(info.source, sizeof info.source, "%s", p.source);
    int keep = o->keep > 0 ? o->keep : DEFAULT_KEEP;
    int rc;
    if (stat(p.data, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(info.kind, sizeof info.kind, "dir");
        rc = store_inside(&p, p.data, "back up", err);
        if (rc == 0)
            rc = o->dry_run ? save_tree_dry(&p, &info, err)
                            : save_tree_real(&p, keep, &info, err);
    } else {
        rc = save_file(&p, o, keep, &info, err);
    }
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

/* Chooses the copy named by `which` (*chosen; NULL for .pre-update); fills info
 * except size (and, for .pre-update, sha256 and time, which are known only once it
 * has been read). */
static int pick(const place *p, const manifest *m, const char *which, claw_backup_info *info,
                const entry **chosen, claw_err *err)
{
    const entry *e = NULL;
    struct stat st;
    *chosen = NULL;
    if (!which || strcmp(which, "latest") == 0) {
        if (m->n == 0)
            return no_backup(err, NULL, p->source);
        e = &m->v[m->n - 1];
    } else if (strcmp(which, "pre-update") == 0) {
        if (!p->preupdate[0] || (stat(p->source, &st) == 0 && S_ISDIR(st.st_mode)))
            return claw_fail(err, CLAW_E_NOT_FOUND, 0,
                             "no backup \"pre-update\" of %s: a directory or volume has none; "
                             "use \"latest\"",
                             p->source);
        snprintf(info->id, sizeof info->id, "pre-update");
        snprintf(info->kind, sizeof info->kind, "file");
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
    *chosen = e;
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
    claw_atomic_file f;
    claw_af_init(&f);
    int rc = dry_run ? 0 : claw_af_open(&f, p->source, err);
    if (rc == 0)
        rc = stream(src, info->path, dry_run ? NULL : &f, dry_run ? 0 : 1, got, &info->size,
                    err);
    if (rc == 0)
        rc = verify(p, m, got, info, err);
    if (rc == 0 && !dry_run) {
        const struct stat *like = stat(p->source, &cur) == 0 ? &cur : copy_st;
        rc = claw_af_finish(&f, like, err);
        if (rc == 0)
            rc = claw_af_publish(&f, err);
    }
    claw_af_abort(&f);
    return rc;
}

static int restore_file(const place *p, const manifest *m, int dry_run, claw_backup_info *info,
                        claw_err *err)
{
    struct stat st;
    int src = open_copy(p, info, &st, err);
    if (src < 0)
        return -1;
    int rc = restore_from(p, m, src, &st, dry_run, info, err);
    close(src);
    info->files = 1;
    return rc;
}

int claw_backup_restore(const char *path, const char *which, const claw_backup_opts *o,
                        claw_backup_info *out, claw_err *err)
{
    place p;
    manifest m;
    const entry *e = NULL;
    claw_backup_info info;
    memset(&info, 0, sizeof info);
    if (locate(path, o, &p, err) != 0 || manifest_load(p.sums, &m, err) != 0)
        return -1;
    int rc = pick(&p, &m, which, &info, &e, err);
    if (rc == 0 && p.volume[0])
        rc = resolve_volume(&p, o, err);
    if (rc == 0 && e && e->dir)
        rc = restore_tree(&p, e, o->dry_run, &info, err);
    else if (rc == 0 && p.volume[0])
        rc = claw_fail(err, CLAW_E_INVALID, 0, "backup %s of %s is not a directory snapshot",
                       info.id, p.source);
    else if (rc == 0)
        rc = restore_file(&p, &m, o->dry_run, &info, err);
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
        !cJSON_AddStringToObject(o, "kind", info->kind) ||
        !cJSON_AddStringToObject(o, "path", info->path) ||
        !cJSON_AddStringToObject(o, "source", info->source) ||
        !cJSON_AddStringToObject(o, "sha256", info->sha256) ||
        !cJSON_AddNumberToObject(o, "size", (double)info->size) ||
        !cJSON_AddNumberToObject(o, "files", (double)info->files) ||
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
        const entry *e = &m.v[i - 1];
        rc = describe(&p, e, &info, err);
        if (rc == 0 && e->dir)
            tree_stats(&p, e, &info);
        else if (rc == 0 && stat(info.path, &st) == 0 && S_ISREG(st.st_mode))
            info.size = (long long)st.st_size, info.files = 1;
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
