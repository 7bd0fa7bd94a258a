#define _GNU_SOURCE
#include "journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "atomic.h"
#include "buf.h"

static int sync_dir(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int claw_journal_append(const char *path, const cJSON *record, claw_err *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        if (claw_make_dirs(dir, err) != 0)
            return -1;
    }
    char *text = cJSON_PrintUnformatted(record);
    if (!text)
        return claw_fail(err, CLAW_E_IO, 0, "out of memory");
    int created = access(path, F_OK) != 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    int rc = 0;
    if (fd < 0) {
        rc = claw_fail_errno(err, errno, "cannot open the journal %s", path);
    } else {
        size_t len = strlen(text);
        text[len] = '\n'; /* one record, one line, one write */
        if (write(fd, text, len + 1) != (ssize_t)(len + 1) || fdatasync(fd) != 0)
            rc = claw_fail_errno(err, errno, "cannot write the journal %s", path);
        close(fd);
        if (rc == 0 && created && sync_dir(path) != 0)
            rc = claw_fail_errno(err, errno, "cannot sync the folder of %s", path);
    }
    free(text);
    return rc;
}

int claw_journal_lock(const char *path, claw_err *err)
{
    char dir[CLAW_PATHSZ];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (claw_make_dirs(dir, err) != 0)
            return -1;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return claw_fail_errno(err, errno, "cannot open the journal %s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return claw_fail_errno(err, e, "cannot lock the journal %s", path);
    }
    return fd;
}

int claw_journal_busy(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd); /* also lets go of the lock just taken */
    return busy;
}

cJSON *claw_journal_read(const char *path, claw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        claw_fail_errno(err, errno, "cannot read the journal %s", path);
        return NULL;
    }
    cJSON *out = cJSON_CreateArray();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* torn by a crash while it was written */
        cJSON *rec = cJSON_ParseWithLength(line, (size_t)n);
        if (cJSON_IsObject(rec))
            cJSON_AddItemToArray(out, rec);
        else
            cJSON_Delete(rec);
    }
    free(line);
    fclose(f);
    return out;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

cJSON *claw_journal_files(const char *dir, claw_err *err)
{
    cJSON *out = cJSON_CreateArray();
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return out; /* no update has run yet */
        cJSON_Delete(out);
        claw_fail_errno(err, errno, "cannot read %s", dir);
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= 8 || strcmp(e->d_name + len - 8, ".journal") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name); /* names start with a UTC time stamp */
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        cJSON_AddItemToArray(out, cJSON_CreateString(path));
        free(names[i]);
    }
    free(names);
    return out;
}
