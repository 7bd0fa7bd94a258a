/* Unit tests of engine/backup.c on the real file system, in a fresh directory under
 * $CLAW_TEST_TMP per run; `sha256sum` checks the manifests the way a person would, and
 * `find` lists trees to compare them. */
#define _GNU_SOURCE /* renameat2, makedev */
#include "backup.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* One test's directory: the config file to back up and its store. */
typedef struct fixture {
    char dir[1024];
    char file[1100];
    char store[1100];
    claw_backup_opts o;
} fixture;

static void setup(fixture *f, const char *run, const char *name)
{
    snprintf(f->dir, sizeof f->dir, "%s/%s", run, name);
    snprintf(f->file, sizeof f->file, "%s/openclaw.json", f->dir);
    snprintf(f->store, sizeof f->store, "%s/store", f->dir);
    f->o = (claw_backup_opts){.store = f->store};
    if (mkdir(f->dir, 0700) != 0)
        perror(f->dir);
}

static void put(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    if (!fp) {
        perror(path);
        return;
    }
    fputs(text, fp);
    fclose(fp);
    chmod(path, mode);
}

/* The file's content in buf ("<missing>" when it cannot be read). */
static const char *get(const char *path, char *buf, size_t cap)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return snprintf(buf, cap, "<missing>"), buf;
    size_t n = fread(buf, 1, cap - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Hidden entries other than our lock: temporary files left behind. */
static int leftovers(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            strcmp(e->d_name, ".lock"))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void folder_of(const claw_backup_info *info, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", info->path);
    *strrchr(buf, '/') = '\0';
}

static const char *str_field(const cJSON *item, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_field(const cJSON *item, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -12345;
}

static void test_sha256(const char *run)
{
    char path[1100], hex[65], want[1200];
    claw_err err;
    snprintf(path, sizeof path, "%s/empty", run);
    put(path, "", 0644);
    CHECK_INT(claw_sha256_file(path, hex, &err), 0);
    CHECK_STR(hex, SHA_EMPTY);
    snprintf(path, sizeof path, "%s/abc", run);
    put(path, "abc", 0644);
    CHECK_INT(claw_sha256_file(path, hex, &err), 0);
    CHECK_STR(hex, SHA_ABC);
    snprintf(path, sizeof path, "%s/nope", run);
    CHECK_INT(claw_sha256_file(path, hex, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND);
    snprintf(want, sizeof want, "cannot read %s: No such file or directory", path);
    CHECK_STR(err.message, want);
}

static void test_save_list(const char *run)
{
    fixture f;
    claw_backup_info out;
    claw_err err;
    char buf[4200], want[4200], hex[65];
    setup(&f, run, "save_list");
    put(f.file, "{\"a\":1}\n", 0644);
    CHECK_INT(claw_backup_save(f.file, &f.o, &out, &err), 0);
    CHECK_STR(out.source, f.file);
    CHECK_INT(strlen(out.id), 20);
    CHECK(out.id[8] == 'T' && out.id[15] == '.' && out.id[19] == 'Z');
    CHECK(claw_sha256_file(f.file, hex, &err) == 0 && strcmp(out.sha256, hex) == 0);
    CHECK_INT(out.size, 8);
    CHECK(out.time > (double)time(NULL) - 5 && out.time < (double)time(NULL) + 5);
    snprintf(want, sizeof want, "%s/openclaw.json-", f.store);
    CHECK(strncmp(out.path, want, strlen(want)) == 0);
    CHECK_STR(get(out.path, buf, sizeof buf), "{\"a\":1}\n");
    CHECK_INT(mode_of(f.store), 0700);

    char folder[4200], path[4300];
    folder_of(&out, folder, sizeof folder);
    CHECK_INT(strlen(folder), strlen(want) + 12);
    snprintf(path, sizeof path, "%s/source", folder);
    snprintf(want, sizeof want, "%s\n", f.file);
    CHECK_STR(get(path, buf, sizeof buf), want);
    snprintf(path, sizeof path, "%s/SHA256SUMS", folder);
    snprintf(want, sizeof want, "%s  %s\n", out.sha256, out.id);
    CHECK_STR(get(path, buf, sizeof buf), want);

    cJSON *list = claw_backup_list(f.file, &f.o, &err);
    CHECK(cJSON_IsArray(list) && cJSON_GetArraySize(list) == 1);
    const cJSON *item = cJSON_GetArrayItem(list, 0);
    CHECK_STR(str_field(item, "id"), out.id);
    CHECK_STR(str_field(item, "path"), out.path);
    CHECK_STR(str_field(item, "source"), f.file);
    CHECK_STR(str_field(item, "sha256"), out.sha256);
    CHECK(num_field(item, "size") == 8);
    CHECK(num_field(item, "time") == out.time);
    cJSON_Delete(list);
    CHECK_INT(leftovers(f.dir), 0);
    CHECK_INT(leftovers(folder), 0);
}

/* Creates empty files named like the ids of the next `ms` milliseconds. */
static void occupy_next_ids(const char *folder, int ms)
{
    struct timespec ts;
    struct tm tm;
    char base[16], path[4300];
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int i = 0; i < ms; i++) {
        long long t = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + i;
        time_t sec = (time_t)(t / 1000);
        gmtime_r(&sec, &tm);
        strftime(base, sizeof base, "%Y%m%dT%H%M%S", &tm);
        snprintf(path, sizeof path, "%s/%s.%03dZ", folder, base, (int)(t % 1000));
        put(path, "", 0600);
    }
}

static void test_unique_ids(const char *run)
{
    fixture f;
    claw_backup_info a, b, c;
    claw_err err;
    setup(&f, run, "unique");
    put(f.file, "x", 0644);
    CHECK_INT(claw_backup_save(f.file, &f.o, &a, &err), 0);
    CHECK_INT(claw_backup_save(f.file, &f.o, &b, &err), 0);
    CHECK_INT(claw_backup_save(f.file, &f.o, &c, &err), 0);
    CHECK(strcmp(a.id, b.id) != 0 && strcmp(b.id, c.id) != 0 && strcmp(a.id, c.id) != 0);
    if (strncmp(a.id, b.id, 20) == 0) /* the same millisecond: a suffix */
        CHECK_STR(b.id + 20, "-1");
    cJSON *list = claw_backup_list(f.file, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 3);
    CHECK_STR(str_field(cJSON_GetArrayItem(list, 0), "id"), c.id);
    CHECK_STR(str_field(cJSON_GetArrayItem(list, 2), "id"), a.id);
    cJSON_Delete(list);

    /* Saves rarely share a millisecond (each one fsyncs), so occupy the ids of the
     * next two seconds to force the suffix. */
    char folder[4200];
    folder_of(&a, folder, sizeof folder);
    occupy_next_ids(folder, 2000);
    CHECK_INT(claw_backup_save(f.file, &f.o, &c, &err), 0);
    CHECK_INT(strlen(c.id), 22);
    CHECK_STR(c.id + 20, "-1");
    CHECK(c.time > (double)time(NULL) - 5);
}

static void test_keep(const char *run)
{
    fixture f;
    claw_backup_info out[5];
    claw_err err;
    char text[32], folder[4200], cmd[4400], buf[4200];
    setup(&f, run, "keep");
    f.o.keep = 3;
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "{\"v\":%d}\n", i);
        put(f.file, text, 0644);
        CHECK_INT(claw_backup_save(f.file, &f.o, &out[i], &err), 0);
    }
    cJSON *list = claw_backup_list(f.file, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 3);
    for (int i = 0; i < 3; i++)
        CHECK_STR(str_field(cJSON_GetArrayItem(list, i), "id"), out[4 - i].id);
    cJSON_Delete(list);
    CHECK(!exists(out[0].path) && !exists(out[1].path) && exists(out[2].path));
    folder_of(&out[4], folder, sizeof folder);
    snprintf(cmd, sizeof cmd, "%s/SHA256SUMS", folder);
    get(cmd, buf, sizeof buf);
    CHECK(strstr(buf, out[1].id) == NULL && strstr(buf, out[2].id) != NULL);
    /* the manifest works as people use it: sha256sum -c in the folder */
    snprintf(cmd, sizeof cmd, "cd '%s' && sha256sum --strict --quiet -c SHA256SUMS", folder);
    CHECK_INT(system(cmd), 0);
    f.o.keep = 0; /* the default, 10, keeps all three */
    CHECK_INT(claw_backup_save(f.file, &f.o, &out[0], &err), 0);
    list = claw_backup_list(f.file, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 4);
    cJSON_Delete(list);
    CHECK_INT(system(cmd), 0);
}

static void test_pre_update(const char *run)
{
    fixture f;
    claw_backup_info out;
    claw_err err;
    char pre[1200], buf[64];
    setup(&f, run, "pre_update");
    snprintf(pre, sizeof pre, "%s.pre-update", f.file);
    put(f.file, "one", 0640);
    CHECK_INT(claw_backup_save(f.file, &f.o, &out, &err), 0);
    CHECK_STR(get(pre, buf, sizeof buf), "one");
    CHECK_INT(mode_of(pre), 0640);
    CHECK_INT(mode_of(out.path), 0640);
    put(f.file, "two", 0604);
    CHECK_INT(claw_backup_save(f.file, &f.o, &out, &err), 0);
    CHECK_STR(get(pre, buf, sizeof buf), "two");
    CHECK_INT(mode_of(pre), 0604);
    CHECK_INT(leftovers(f.dir), 0);
}

static void test_restore(const char *run)
{
    fixture f;
    claw_backup_info one, two, out;
    claw_err err;
    char buf[64], want[1300];
    setup(&f, run, "restore");
    put(f.file, "one", 0640);
    CHECK_INT(claw_backup_save(f.file, &f.o, &one, &err), 0);
    put(f.file, "two", 0640);
    CHECK_INT(claw_backup_save(f.file, &f.o, &two, &err), 0);

    put(f.file, "three", 0600);
    CHECK_INT(claw_backup_restore(f.file, NULL, &f.o, &out, &err), 0);
    CHECK_STR(get(f.file, buf, sizeof buf), "two");
    CHECK_STR(out.id, two.id);
    CHECK_STR(out.path, two.path);
    CHECK_STR(out.sha256, two.sha256);
    CHECK_INT(out.size, 3);
    CHECK_INT(mode_of(f.file), 0600); /* the current file's mode, not the copy's */
    CHECK_INT(claw_backup_restore(f.file, one.id, &f.o, &out, &err), 0);
    CHECK_STR(get(f.file, buf, sizeof buf), "one");
    CHECK_STR(out.id, one.id);
    CHECK_INT(claw_backup_restore(f.file, "1", &f.o, &out, &err), 0);
    CHECK_STR(get(f.file, buf, sizeof buf), "two");
    CHECK_INT(claw_backup_restore(f.file, "2", &f.o, &out, &err), 0);
    CHECK_STR(get(f.file, buf, sizeof buf), "one");
    CHECK_INT(claw_backup_restore(f.file, "latest", &f.o, &out, &err), 0);
    CHECK_STR(out.id, two.id);
    CHECK_INT(claw_backup_restore(f.file, "pre-update", &f.o, &out, &err), 0);
    CHECK_STR(get(f.file, buf, sizeof buf), "two");
    CHECK_STR(out.id, "pre-update");
    CHECK_STR(out.sha256, two.sha256);
    CHECK(out.time == two.time);

    CHECK_INT(claw_backup_restore(f.file, "3", &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND);
    snprintf(want, sizeof want, "no backup \"3\" of %s", f.file);
    CHECK_STR(err.message, want);
    CHECK_INT(claw_backup_restore(f.file, "20200101T000000.000Z", &f.o, &out, &err), -1);
    snprintf(want, sizeof want, "no backup \"20200101T000000.000Z\" of %s", f.file);
    CHECK_STR(err.message, want);

    unlink(f.file);
    CHECK_INT(claw_backup_restore(f.file, one.id, &f.o, &out, &err), 0);
    CHECK_STR(get(f.file, buf, sizeof buf), "one");
    CHECK_INT(mode_of(f.file), 0640); /* recreated: the copy's mode */
    unlink(f.file);
    CHECK_INT(claw_backup_restore(f.file, "pre-update", &f.o, &out, &err), 0);
    CHECK_STR(get(f.file, buf, sizeof buf), "two");
    CHECK_INT(leftovers(f.dir), 0);
}

/* "./x" and "x" against the cwd name the same file and the same backups. */
static void test_relative(const char *run)
{
    fixture f;
    claw_backup_info out;
    claw_err err;
    char cwd[4096], buf[64];
    setup(&f, run, "relative");
    put(f.file, "rel", 0644);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_INT(chdir(f.dir), 0);
    f.o.store = "./sub/../store";
    CHECK_INT(claw_backup_save("openclaw.json", &f.o, &out, &err), 0);
    CHECK_STR(out.source, f.file);
    put(f.file, "changed", 0644);
    CHECK_INT(claw_backup_restore("./openclaw.json", NULL, &f.o, &out, &err), 0);
    CHECK_STR(get(f.file, buf, sizeof buf), "rel");
    CHECK_INT(chdir(cwd), 0);
    f.o.store = f.store;
    cJSON *list = claw_backup_list(f.file, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
}

static void test_corrupt(const char *run)
{
    fixture f;
    claw_backup_info saved, out;
    claw_err err;
    char buf[64], want[1300], pre[1200];
    setup(&f, run, "corrupt");
    snprintf(pre, sizeof pre, "%s.pre-update", f.file);
    put(f.file, "good", 0644);
    CHECK_INT(claw_backup_save(f.file, &f.o, &saved, &err), 0);
    put(saved.path, "evil", 0644);
    put(f.file, "current", 0644);
    CHECK_INT(claw_backup_restore(f.file, NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_CHECKSUM);
    snprintf(want, sizeof want, "backup %s of %s is corrupt: sha256 mismatch", saved.id,
             f.file);
    CHECK_STR(err.message, want);
    CHECK_STR(get(f.file, buf, sizeof buf), "current");
    CHECK_INT(leftovers(f.dir), 0);
    f.o.dry_run = 1;
    CHECK_INT(claw_backup_restore(f.file, saved.id, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_CHECKSUM);
    f.o.dry_run = 0;

    put(pre, "edited", 0644);
    CHECK_INT(claw_backup_restore(f.file, "pre-update", &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_CHECKSUM);
    snprintf(want, sizeof want, "backup pre-update of %s is corrupt: sha256 mismatch", f.file);
    CHECK_STR(err.message, want);
    CHECK_STR(get(f.file, buf, sizeof buf), "current");
    CHECK_INT(leftovers(f.dir), 0);
}

static void test_errors(const char *run)
{
    fixture f;
    claw_backup_info out;
    claw_err err;
    char want[2600], path[1200];
    setup(&f, run, "errors");
    CHECK_INT(claw_backup_save(f.file, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND);
    snprintf(want, sizeof want, "cannot back up %s: No such file or directory", f.file);
    CHECK_STR(err.message, want);
    /* a directory holding the store would copy itself into itself */
    CHECK_INT(claw_backup_save(f.dir, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_INVALID);
    snprintf(want, sizeof want, "cannot back up %s: the backup store %s is inside it", f.dir,
             f.store);
    CHECK_STR(err.message, want);
    snprintf(path, sizeof path, "%s/", f.dir); /* a trailing slash names the same dir */
    CHECK_INT(claw_backup_save(path, &f.o, &out, &err), -1);
    CHECK_STR(err.message, want);
    CHECK(!exists(f.store));
    snprintf(path, sizeof path, "%s/fifo", f.dir);
    CHECK_INT(mkfifo(path, 0600), 0);
    CHECK_INT(claw_backup_save(path, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_INVALID);
    snprintf(want, sizeof want, "cannot back up %s: not a regular file or directory (it is a FIFO)",
             path);
    CHECK_STR(err.message, want);
    unlink(path);
    CHECK(!exists(f.store));

    CHECK_INT(claw_backup_restore(f.file, NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND);
    snprintf(want, sizeof want, "no backup of %s", f.file);
    CHECK_STR(err.message, want);
    CHECK_INT(claw_backup_restore(f.file, "pre-update", &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND);
    snprintf(want, sizeof want, "no backup \"pre-update\" of %s", f.file);
    CHECK_STR(err.message, want);
    /* a hand-made .pre-update (cp) that clawengine never recorded */
    snprintf(path, sizeof path, "%s.pre-update", f.file);
    put(path, "by hand", 0644);
    CHECK_INT(claw_backup_restore(f.file, "pre-update", &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_CHECKSUM);
    CHECK(strstr(err.message, "cannot be verified") != NULL);
    CHECK(!exists(f.file));

    cJSON *list = claw_backup_list(f.file, &f.o, &err);
    CHECK(cJSON_IsArray(list) && cJSON_GetArraySize(list) == 0);
    cJSON_Delete(list);
    f.o.store = NULL;
    CHECK(claw_backup_list(f.file, &f.o, &err) == NULL);
    CHECK_STR(err.code, CLAW_E_INVALID);
    CHECK_INT(claw_backup_save(f.file, NULL, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_INVALID);
}

static void test_dry_run(const char *run)
{
    fixture f;
    claw_backup_info out;
    claw_err err;
    char pre[1200], buf[64];
    setup(&f, run, "dry_run");
    snprintf(pre, sizeof pre, "%s.pre-update", f.file);
    put(f.file, "abc", 0644);
    f.o.dry_run = 1;
    CHECK_INT(claw_backup_save(f.file, &f.o, &out, &err), 0);
    CHECK_STR(out.sha256, SHA_ABC);
    CHECK_INT(out.size, 3);
    CHECK(strncmp(out.path, f.store, strlen(f.store)) == 0);
    CHECK(!exists(f.store) && !exists(pre) && !exists(out.path));
    CHECK_INT(claw_backup_restore(f.file, NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND);

    f.o.dry_run = 0;
    CHECK_INT(claw_backup_save(f.file, &f.o, &out, &err), 0);
    put(f.file, "changed", 0644);
    f.o.dry_run = 1;
    claw_backup_info seen;
    CHECK_INT(claw_backup_restore(f.file, NULL, &f.o, &seen, &err), 0);
    CHECK_STR(seen.id, out.id);
    CHECK_STR(seen.sha256, SHA_ABC);
    CHECK_STR(get(f.file, buf, sizeof buf), "changed");
    CHECK_INT(claw_backup_save(f.file, &f.o, &seen, &err), 0);
    CHECK(strcmp(seen.id, out.id) != 0 || seen.id[0] == '\0');
    cJSON *list = claw_backup_list(f.file, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
    CHECK_STR(get(pre, buf, sizeof buf), "abc");
    CHECK_INT(leftovers(f.dir), 0);
}

/* ---- directories ------------------------------------------------------------------ */

/* A directory fixture: the state directory and a store beside it (not inside). */
typedef struct tree_fixture {
    char dir[1024];
    char state[1100];
    char store[1100];
    claw_backup_opts o;
} tree_fixture;

static void tree_setup(tree_fixture *f, const char *run, const char *name)
{
    snprintf(f->dir, sizeof f->dir, "%s/%s", run, name);
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    snprintf(f->store, sizeof f->store, "%s/store", f->dir);
    f->o = (claw_backup_opts){.store = f->store};
    if (mkdir(f->dir, 0700) != 0 || mkdir(f->state, 0755) != 0)
        perror(f->dir);
}

/* path below the fixture's state directory */
static const char *at(const tree_fixture *f, const char *rel, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", f->state, rel);
    return buf;
}

static void set_mtime(const char *path, time_t t)
{
    struct timespec ts[2] = {{t, 0}, {t, 123456789}};
    if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
        perror(path);
}

/* The tree an application leaves in its state directory, with the awkward cases:
 * nested and empty directories, a read-only one, symlinks (one dangling), modes,
 * fixed mtimes, and a name holding a newline and a backslash. */
static void make_tree(const tree_fixture *f)
{
    char p[1300];
    mkdir(at(f, "config", p, sizeof p), 0750);
    put(at(f, "config/openclaw.json", p, sizeof p), "{\"v\":1}\n", 0640);
    mkdir(at(f, "config/nested", p, sizeof p), 0700);
    mkdir(at(f, "config/nested/deep", p, sizeof p), 0755);
    put(at(f, "config/nested/deep/x.txt", p, sizeof p), "deep", 0600);
    mkdir(at(f, "empty", p, sizeof p), 0751);
    put(at(f, "run.sh", p, sizeof p), "#!/bin/sh\n", 0755);
    put(at(f, "we\\ird\nname", p, sizeof p), "odd", 0644);
    if (symlink("config/openclaw.json", at(f, "current.json", p, sizeof p)) != 0 ||
        symlink("nowhere", at(f, "dangling", p, sizeof p)) != 0)
        perror("symlink");
    set_mtime(at(f, "current.json", p, sizeof p), 1500000000);
    set_mtime(at(f, "run.sh", p, sizeof p), 1600000000);
    mkdir(at(f, "ro", p, sizeof p), 0755);
    put(at(f, "ro/frozen", p, sizeof p), "ice", 0444);
    chmod(at(f, "ro", p, sizeof p), 0555);
    set_mtime(at(f, "empty", p, sizeof p), 1400000000);
}

/* Everything below dir that a restore must bring back: type, mode, owner, mtime,
 * link target and name, then every file's sha256. */
static void listing(const char *dir, char *buf, size_t cap)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && find . -mindepth 1 -printf '%%y %%m %%U:%%G %%T@ [%%l] %%p\\n' | "
             "LC_ALL=C sort && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum",
             dir);
    FILE *fp = popen(cmd, "r");
    size_t n = fp ? fread(buf, 1, cap - 1, fp) : 0;
    buf[n] = '\0';
    if (fp)
        pclose(fp);
}

/* Runs a shell command in dir. */
static int sh_in(const char *dir, const char *cmd)
{
    char line[4600];
    snprintf(line, sizeof line, "cd '%s' && %s", dir, cmd);
    return system(line);
}

static void test_tree_save(const char *run)
{
    tree_fixture f;
    claw_backup_info out, again;
    claw_err err;
    char buf[4200], want[4400], path[4400], hex[65];
    tree_setup(&f, run, "tree_save");
    make_tree(&f);
    CHECK_INT(claw_backup_save(f.state, &f.o, &out, &err), 0);
    CHECK_STR(out.kind, "dir");
    CHECK_STR(out.source, f.state);
    CHECK_INT(out.files, 5);
    CHECK_INT(out.size, 8 + 4 + 10 + 3 + 3);
    CHECK_INT(strlen(out.id), 20);
    snprintf(want, sizeof want, "%s/state-", f.store);
    CHECK(strncmp(out.path, want, strlen(want)) == 0);
    CHECK_INT(mode_of(out.path), 0700);
    /* the snapshot's manifest vouches for the files, the folder's for the manifest */
    snprintf(path, sizeof path, "%s/SHA256SUMS", out.path);
    CHECK(claw_sha256_file(path, hex, &err) == 0 && strcmp(hex, out.sha256) == 0);
    CHECK(strstr(get(path, buf, sizeof buf), "  tree/config/nested/deep/x.txt\n") != NULL);
    CHECK(strstr(buf, "\\") == buf || strstr(buf, "\n\\") != NULL); /* an escaped line */
    CHECK_INT(sh_in(out.path, "sha256sum --strict --quiet -c SHA256SUMS"), 0);
    char folder[4200];
    folder_of(&out, folder, sizeof folder);
    snprintf(path, sizeof path, "%s/SHA256SUMS", folder);
    snprintf(want, sizeof want, "%s  %s/SHA256SUMS\n", out.sha256, out.id);
    CHECK_STR(get(path, buf, sizeof buf), want);
    CHECK_INT(sh_in(folder, "sha256sum --strict --quiet -c SHA256SUMS"), 0);
    /* the copy is the tree: symlinks as symlinks, modes, mtimes */
    char a[8192], b[8192];
    listing(f.state, a, sizeof a);
    snprintf(path, sizeof path, "%s/tree", out.path);
    listing(path, b, sizeof b);
    CHECK_STR(b, a);
    CHECK(strstr(a, "l 777 ") && strstr(a, "[config/openclaw.json] ./current.json"));
    CHECK(strstr(a, "d 555 ") != NULL && strstr(a, "d 751 ") != NULL);
    /* no .pre-update beside a directory, and nothing else left behind */
    snprintf(path, sizeof path, "%s.pre-update", f.state);
    CHECK(!exists(path));
    CHECK_INT(leftovers(f.dir), 0);
    CHECK_INT(leftovers(folder), 0);

    /* one tree, one manifest: an unchanged tree saves with the same sha256 */
    CHECK_INT(claw_backup_save(f.state, &f.o, &again, &err), 0);
    CHECK_STR(again.sha256, out.sha256);
    CHECK(strcmp(again.id, out.id) != 0);

    cJSON *list = claw_backup_list(f.state, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 2);
    const cJSON *item = cJSON_GetArrayItem(list, 1);
    CHECK_STR(str_field(item, "id"), out.id);
    CHECK_STR(str_field(item, "kind"), "dir");
    CHECK_STR(str_field(item, "path"), out.path);
    CHECK_STR(str_field(item, "sha256"), out.sha256);
    CHECK(num_field(item, "size") == out.size);
    CHECK(num_field(item, "files") == 5);
    cJSON_Delete(list);
}

/* Modifies the tree the way a new release does when it migrates its state. */
static void migrate(const tree_fixture *f)
{
    char p[1300];
    put(at(f, "config/openclaw.json", p, sizeof p), "{\"v\":2,\"migrated\":true}\n", 0600);
    put(at(f, "added.json", p, sizeof p), "new", 0644);
    mkdir(at(f, "newdir", p, sizeof p), 0700);
    put(at(f, "newdir/schema.db", p, sizeof p), "v2", 0644);
    unlink(at(f, "config/nested/deep/x.txt", p, sizeof p));
    rmdir(at(f, "empty", p, sizeof p));
    unlink(at(f, "current.json", p, sizeof p));
    if (symlink("added.json", at(f, "current.json", p, sizeof p)) != 0)
        perror("symlink");
    chmod(at(f, "run.sh", p, sizeof p), 0700);
    chmod(at(f, "ro", p, sizeof p), 0755);
    put(at(f, "ro/frozen", p, sizeof p), "thawed", 0644);
}

static void test_tree_restore(const char *run)
{
    tree_fixture f;
    claw_backup_info saved, out;
    claw_err err;
    char before[8192], after[8192], p[1300];
    tree_setup(&f, run, "tree_restore");
    make_tree(&f);
    listing(f.state, before, sizeof before);
    CHECK_INT(claw_backup_save(f.state, &f.o, &saved, &err), 0);
    migrate(&f);
    chmod(f.state, 0701); /* the directory's own mode is kept */
    struct stat st0;
    CHECK_INT(stat(f.state, &st0), 0);
    CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &out, &err), 0);
    CHECK_STR(out.id, saved.id);
    CHECK_STR(out.kind, "dir");
    CHECK_STR(out.sha256, saved.sha256);
    CHECK_INT(out.files, 5);
    CHECK_INT(out.size, saved.size);
    listing(f.state, after, sizeof after);
    CHECK_STR(after, before);
    CHECK(!exists(at(&f, "added.json", p, sizeof p)) && !exists(at(&f, "newdir", p, sizeof p)));
    CHECK_STR(get(at(&f, "config/openclaw.json", p, sizeof p), after, sizeof after),
              "{\"v\":1}\n");
    CHECK_INT(mode_of(f.state), 0701);
    struct stat st1;
    CHECK_INT(stat(f.state, &st1), 0);
    CHECK(st1.st_ino != st0.st_ino); /* swapped in, not rewritten in place */
    CHECK_INT(leftovers(f.dir), 0);

    /* deleted altogether: recreated, with the snapshot's own mode */
    CHECK_INT(sh_in(f.dir, "rm -rf state"), 0);
    CHECK_INT(claw_backup_restore(f.state, "latest", &f.o, &out, &err), 0);
    listing(f.state, after, sizeof after);
    CHECK_STR(after, before);
    CHECK_INT(mode_of(f.state), 0755);

    /* a symlink to the directory: the directory is restored, the link stays */
    char real[1200], link[1200];
    snprintf(real, sizeof real, "%s/real", f.dir);
    snprintf(link, sizeof link, "%s/link", f.dir);
    CHECK_INT(rename(f.state, real), 0);
    CHECK_INT(symlink("real", link), 0);
    snprintf(p, sizeof p, "%s/added.json", real);
    put(p, "new", 0644);
    CHECK_INT(claw_backup_restore(link, saved.id, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND); /* filed under its own path: no backup */
    claw_backup_info viaLink;
    CHECK_INT(claw_backup_save(link, &f.o, &viaLink, &err), 0);
    CHECK_STR(viaLink.kind, "dir");
    CHECK_INT(viaLink.files, 6);
    unlink(p);
    CHECK_INT(claw_backup_restore(link, NULL, &f.o, &out, &err), 0);
    struct stat ls;
    CHECK(lstat(link, &ls) == 0 && S_ISLNK(ls.st_mode));
    CHECK_STR(get(p, after, sizeof after), "new");
    CHECK_INT(leftovers(f.dir), 0);
}

static void test_tree_corrupt(const char *run)
{
    tree_fixture f;
    claw_backup_info saved, out;
    claw_err err;
    char before[8192], after[8192], p[4400], want[4400], folder[4200];
    tree_setup(&f, run, "tree_corrupt");
    make_tree(&f);
    CHECK_INT(claw_backup_save(f.state, &f.o, &saved, &err), 0);
    folder_of(&saved, folder, sizeof folder);
    migrate(&f);
    listing(f.state, before, sizeof before);

    snprintf(p, sizeof p, "%s/tree/config/nested/deep/x.txt", saved.path);
    put(p, "rot", 0600);
    CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_CHECKSUM);
    snprintf(want, sizeof want,
             "backup %s of %s is corrupt: sha256 mismatch in config/nested/deep/x.txt",
             saved.id, f.state);
    CHECK_STR(err.message, want);
    listing(f.state, after, sizeof after);
    CHECK_STR(after, before);
    CHECK_INT(leftovers(f.dir), 0);
    f.o.dry_run = 1;
    CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.message, want);
    f.o.dry_run = 0;
    put(p, "deep", 0600);

    snprintf(p, sizeof p, "%s/tree/config/smuggled", saved.path);
    put(p, "x", 0600);
    CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_CHECKSUM);
    snprintf(want, sizeof want,
             "backup %s of %s is corrupt: config/smuggled is not in its manifest", saved.id,
             f.state);
    CHECK_STR(err.message, want);
    unlink(p);

    snprintf(p, sizeof p, "%s/tree/run.sh", saved.path);
    CHECK_INT(unlink(p), 0);
    CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &out, &err), -1);
    snprintf(want, sizeof want, "backup %s of %s is corrupt: run.sh is missing", saved.id,
             f.state);
    CHECK_STR(err.message, want);
    put(p, "#!/bin/sh\n", 0755);

    snprintf(p, sizeof p, "%s/SHA256SUMS", saved.path);
    FILE *fp = fopen(p, "a");
    if (fp)
        fputs("\n", fp), fclose(fp);
    CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_CHECKSUM);
    snprintf(want, sizeof want, "backup %s of %s is corrupt: sha256 mismatch in SHA256SUMS",
             saved.id, f.state);
    CHECK_STR(err.message, want);
    listing(f.state, after, sizeof after);
    CHECK_STR(after, before);
    CHECK_INT(leftovers(f.dir), 0);
    CHECK_INT(leftovers(folder), 0);
}

static void test_tree_refused(const char *run)
{
    tree_fixture f;
    claw_backup_info out;
    claw_err err;
    char p[1300], want[2600];
    tree_setup(&f, run, "tree_refused");
    make_tree(&f);
    /* a device file where root may make one; a FIFO otherwise */
    int dev = mknod(at(&f, "config/null", p, sizeof p), S_IFCHR | 0666, makedev(1, 3)) == 0;
    if (!dev)
        CHECK_INT(mkfifo(p, 0600), 0);
    CHECK_INT(claw_backup_save(f.state, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_INVALID);
    snprintf(want, sizeof want,
             "cannot back up %s: config/null is %s; a snapshot keeps only regular files, "
             "directories and symlinks",
             f.state, dev ? "a character device" : "a FIFO");
    CHECK_STR(err.message, want);
    cJSON *list = claw_backup_list(f.state, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
    f.o.dry_run = 1;
    CHECK_INT(claw_backup_save(f.state, &f.o, &out, &err), -1);
    CHECK_STR(err.message, want);
    f.o.dry_run = 0;
    unlink(p);

    /* the store inside the directory */
    snprintf(p, sizeof p, "%s/backups", f.state);
    f.o.store = p;
    CHECK_INT(claw_backup_save(f.state, &f.o, &out, &err), -1);
    snprintf(want, sizeof want, "cannot back up %s: the backup store %s is inside it", f.state,
             p);
    CHECK_STR(err.message, want);
    CHECK(!exists(p));
    f.o.store = f.store;
    CHECK_INT(claw_backup_save(f.state, &f.o, &out, &err), 0);
    f.o.store = p;
    CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND); /* that store has nothing */
    f.o.store = f.store;

    CHECK_INT(claw_backup_restore(f.state, "pre-update", &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND);
    snprintf(want, sizeof want,
             "no backup \"pre-update\" of %s: a directory or volume has none; use \"latest\"",
             f.state);
    CHECK_STR(err.message, want);
}

static void test_tree_keep_dry(const char *run)
{
    tree_fixture f;
    claw_backup_info out[3], seen;
    claw_err err;
    char p[1300], buf[64], text[32];
    tree_setup(&f, run, "tree_keep");
    make_tree(&f);
    f.o.keep = 2;
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "{\"v\":%d}\n", i);
        put(at(&f, "config/openclaw.json", p, sizeof p), text, 0640);
        CHECK_INT(claw_backup_save(f.state, &f.o, &out[i], &err), 0);
    }
    CHECK(!exists(out[0].path) && exists(out[1].path) && exists(out[2].path));
    cJSON *list = claw_backup_list(f.state, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 2);
    CHECK_STR(str_field(cJSON_GetArrayItem(list, 0), "id"), out[2].id);
    cJSON_Delete(list);
    CHECK_INT(claw_backup_restore(f.state, "2", &f.o, &seen, &err), 0);
    CHECK_STR(seen.id, out[1].id);
    CHECK_STR(get(at(&f, "config/openclaw.json", p, sizeof p), buf, sizeof buf), "{\"v\":1}\n");
    CHECK_INT(claw_backup_restore(f.state, out[2].id, &f.o, &seen, &err), 0);
    CHECK_STR(get(p, buf, sizeof buf), "{\"v\":2}\n");

    /* dry runs read everything and write nothing */
    put(p, "{\"v\":3}\n", 0640);
    f.o.dry_run = 1;
    CHECK_INT(claw_backup_save(f.state, &f.o, &seen, &err), 0);
    CHECK_STR(seen.kind, "dir");
    CHECK_INT(seen.files, 5);
    CHECK(!exists(seen.path));
    CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &seen, &err), 0);
    CHECK_STR(seen.id, out[2].id);
    CHECK_STR(get(p, buf, sizeof buf), "{\"v\":3}\n");
    f.o.dry_run = 0;
    list = claw_backup_list(f.state, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 2);
    cJSON_Delete(list);
    CHECK_INT(leftovers(f.dir), 0);
}

/* A file that keeps growing while it is copied: the snapshot starts over once, then
 * fails, leaving nothing behind. */
static void test_tree_changing(const char *run)
{
    tree_fixture f;
    claw_backup_info out;
    claw_err err;
    char p[1300], folder[4200];
    tree_setup(&f, run, "tree_changing");
    make_tree(&f);
    at(&f, "growing.log", p, sizeof p);
    FILE *fp = fopen(p, "w");
    for (int i = 0; fp && i < 1024; i++) {
        static char block[8192];
        fwrite(block, 1, sizeof block, fp);
    }
    if (fp)
        fclose(fp);
    pid_t child = fork();
    if (child == 0) {
        int fd = open(p, O_WRONLY | O_APPEND);
        for (;;) {
            if (write(fd, "x", 1) != 1)
                _exit(1);
            usleep(50);
        }
    }
    usleep(20000);
    CHECK_INT(claw_backup_save(f.state, &f.o, &out, &err), -1);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    CHECK_STR(err.code, CLAW_E_CONFLICT);
    char want[2600];
    snprintf(want, sizeof want,
             "cannot back up %s: %s changed while being copied, twice in a row; stop what "
             "writes to it and save again",
             f.state, p);
    CHECK_STR(err.message, want);
    cJSON *list = claw_backup_list(f.state, &f.o, &err);
    CHECK_INT(cJSON_GetArraySize(list), 0);
    cJSON_Delete(list);
    /* the folder holds its lock and nothing else */
    DIR *d = opendir(f.store);
    struct dirent *e = NULL;
    while (d && (e = readdir(d)) && e->d_name[0] == '.')
        ;
    snprintf(folder, sizeof folder, "%s/%s", f.store, e ? e->d_name : "?");
    if (d)
        closedir(d);
    CHECK_INT(sh_in(folder, "test \"$(ls -A)\" = .lock"), 0);
    CHECK_INT(claw_backup_save(f.state, &f.o, &out, &err), 0); /* quiet again: fine */
}

/* Makes renameat2 with flags fail as on a file system without RENAME_EXCHANGE. */
static int deny_rename_exchange(void)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_renameat2, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[4])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EINVAL & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0], .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void test_tree_no_exchange(const char *run)
{
    tree_fixture f;
    claw_backup_info out;
    claw_err err;
    char before[8192];
    tree_setup(&f, run, "tree_no_exchange");
    make_tree(&f);
    listing(f.state, before, sizeof before);
    CHECK_INT(claw_backup_save(f.state, &f.o, &out, &err), 0);
    migrate(&f);
    pid_t child = fork();
    if (child == 0) {
        char after[8192];
        if (deny_rename_exchange() != 0) {
            fprintf(stderr, "test_tree_no_exchange: no seccomp here, skipped\n");
            _exit(0);
        }
        int fd = open(f.state, O_RDONLY | O_DIRECTORY);
        int gone = renameat2(AT_FDCWD, f.state, AT_FDCWD, f.state, RENAME_EXCHANGE) != 0 &&
                   errno == EINVAL;
        CHECK(gone);
        CHECK_INT(claw_backup_restore(f.state, NULL, &f.o, &out, &err), 0);
        listing(f.state, after, sizeof after);
        CHECK_STR(after, before);
        CHECK_INT(leftovers(f.dir), 0);
        close(fd);
        _exit(check_failures ? 1 : 0);
    }
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_volume_dir(void)
{
    char dir[4096];
    claw_err err;
    cJSON *v = cJSON_Parse("{\"Name\":\"data\",\"Driver\":\"local\",\"Options\":null,"
                           "\"Mountpoint\":\"/var/lib/docker/volumes/data/_data\"}");
    CHECK_INT(claw_backup_volume_dir(v, "data", dir, &err), 0);
    CHECK_STR(dir, "/var/lib/docker/volumes/data/_data");
    cJSON_Delete(v);
    v = cJSON_Parse("{\"Driver\":\"rexray/ebs\",\"Mountpoint\":\"/x\"}");
    CHECK_INT(claw_backup_volume_dir(v, "data", dir, &err), -1);
    CHECK_STR(err.code, CLAW_E_INVALID);
    CHECK_STR(err.message, "volume data uses the driver \"rexray/ebs\": only volumes of the "
                           "\"local\" driver, whose files are on this host, can be backed up");
    cJSON_Delete(v);
    v = cJSON_Parse("{\"Driver\":\"local\",\"Mountpoint\":\"/x\",\"Options\":{\"type\":\"cifs\","
                    "\"device\":\"//h/s\",\"o\":\"password=secret\"}}");
    CHECK_INT(claw_backup_volume_dir(v, "share", dir, &err), -1);
    CHECK_STR(err.message, "volume share has mount options (type=cifs, device, o): its files "
                           "are in its mountpoint only while a container uses it, so it "
                           "cannot be backed up");
    cJSON_Delete(v);
    v = cJSON_Parse("{\"Driver\":\"local\",\"Options\":{}}");
    CHECK_INT(claw_backup_volume_dir(v, "data", dir, &err), -1);
    CHECK_STR(err.message, "volume data: Docker gave no Mountpoint");
    cJSON_Delete(v);
}

/* Volumes are filed by name; listing needs no Docker, saving does. */
static void test_volume_names(const char *run)
{
    fixture f;
    claw_backup_info out;
    claw_err err;
    setup(&f, run, "volume_names");
    cJSON *list = claw_backup_list("volume:openclaw-state", &f.o, &err);
    CHECK(cJSON_IsArray(list) && cJSON_GetArraySize(list) == 0);
    cJSON_Delete(list);
    CHECK_INT(claw_backup_save("volume:openclaw-state", &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_INVALID);
    CHECK_STR(err.message, "volume:openclaw-state: no Docker client to ask where it is");
    CHECK_INT(claw_backup_save("volume:../etc", &f.o, &out, &err), -1);
    CHECK_STR(err.message, "invalid volume name \"../etc\"");
    CHECK(claw_backup_list("volume:a/b", &f.o, &err) == NULL);
    CHECK_STR(err.message, "invalid volume name \"a/b\"");
    CHECK_INT(claw_backup_restore("volume:openclaw-state", NULL, &f.o, &out, &err), -1);
    CHECK_STR(err.message, "no backup of volume:openclaw-state");
    CHECK(!exists(f.store));
}

int main(void)
{
    const char *base = getenv("CLAW_TEST_TMP");
    char run[900];
    if (!base || !*base)
        base = "/tmp";
    mkdir(base, 0700); /* ctest's scratch directory may not exist yet */
    snprintf(run, sizeof run, "%s/backup-XXXXXX", base);
    if (!mkdtemp(run)) {
        perror(run);
        return 1;
    }
    test_sha256(run);
    test_save_list(run);
    test_unique_ids(run);
    test_keep(run);
    test_pre_update(run);
    test_restore(run);
    test_relative(run);
    test_corrupt(run);
    test_errors(run);
    test_dry_run(run);
    test_tree_save(run);
    test_tree_restore(run);
    test_tree_corrupt(run);
    test_tree_refused(run);
    test_tree_keep_dry(run);
    test_tree_changing(run);
    test_tree_no_exchange(run);
    test_volume_dir();
    test_volume_names(run);
    return check_done();
}
