/* Unit tests of engine/backup.c on the real file system, in a fresh directory under
 * $CLAW_TEST_TMP per run; `sha256sum` checks the manifest the way a person would. */
#include "backup.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    char want[1400], path[1200];
    setup(&f, run, "errors");
    CHECK_INT(claw_backup_save(f.file, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_NOT_FOUND);
    snprintf(want, sizeof want, "cannot back up %s: No such file or directory", f.file);
    CHECK_STR(err.message, want);
    CHECK_INT(claw_backup_save(f.dir, &f.o, &out, &err), -1);
    CHECK_STR(err.code, CLAW_E_INVALID);
    snprintf(want, sizeof want,
             "cannot back up %s: not a regular file (directories are not supported yet)",
             f.dir);
    CHECK_STR(err.message, want);
    snprintf(path, sizeof path, "%s/", f.dir); /* a trailing slash names the same dir */
    CHECK_INT(claw_backup_save(path, &f.o, &out, &err), -1);
    CHECK_STR(err.message, want);
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
    return check_done();
}
