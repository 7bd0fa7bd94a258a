/* Backups of config files: the mechanism behind claw.backup. A policy saves a file
 * before an update and puts it back on rollback, replacing the hand-written
 * `cp openclaw.json openclaw.json.pre-update`.
 *
 * On disk, for a file /abs/dir/x.json and a store S:
 *
 *   S/x.json-<h>/                 0700; <h> = first 12 hex of sha256("/abs/dir/x.json")
 *       <id>                      one timestamped copy per save, the original's mode
 *       SHA256SUMS                "<sha256>  <id>" per copy, oldest first, so that
 *                                 `sha256sum -c SHA256SUMS` works in the folder
 *       source                    "/abs/dir/x.json\n", for people reading the store
 *       .lock                     serialises concurrent saves of different processes
 *   /abs/dir/x.json.pre-update    a copy of the newest save, the name users know
 *
 * Ids are UTC timestamps with milliseconds ("20261126T121547.123Z"), with "-1", "-2"
 * appended when one is already taken. "Newest" means last in SHA256SUMS (the order
 * of the saves), not the largest id, so a clock stepping back cannot reorder them.
 *
 * Verification: a timestamped copy must match its own SHA256SUMS line. The
 * .pre-update copy is verified against the newest SHA256SUMS entry with the same
 * sha256: every save writes it from the same read as the newest copy, and pruning
 * never removes the newest, so it always has an entry; a corrupted or foreign
 * .pre-update has none. This keeps the user's directory free of extra files and
 * stays sound when a save fails between its renames.
 *
 * Every write is atomic: a temporary file in the destination's directory, written
 * in full, fsync'd, renamed over the target, then the directory fsync'd; a failure
 * removes the temporary file, so no partial file is ever left behind.
 *
 * Paths are made absolute against the cwd and normalised lexically ("./x.json" and
 * "x.json" share one folder); symlinks are not resolved, because restore must work
 * after the file was deleted. A restore renames over the path itself, so a symlink
 * there is replaced by a regular file. */
#ifndef CLAW_BACKUP_H
#define CLAW_BACKUP_H

#include <cjson/cJSON.h>

#include "err.h"

typedef struct claw_backup_opts {
    const char *store; /* directory holding the timestamped copies (required) */
    int keep;          /* how many timestamped copies to keep per file; <= 0 means 10 */
    int dry_run;       /* compute and validate everything, write nothing */
} claw_backup_opts;

typedef struct claw_backup_info {
    char id[40];       /* e.g. "20261126T121547.123Z" (UTC, milliseconds); unique per file;
                          "pre-update" for the .pre-update copy */
    char path[4096];   /* absolute path of the copy */
    char source[4096]; /* absolute path of the original file */
    char sha256[65];   /* hex */
    long long size;    /* bytes; -1 in a list when the copy is missing */
    double time;       /* seconds since the epoch when the copy was saved */
} claw_backup_info;

/* Lowercase hex sha256 of a file's content. */
int claw_sha256_file(const char *path, char hex[65], claw_err *err);

/* Copies `path` (a regular file) to a new timestamped copy in the store and to
 * <path>.pre-update, records it in SHA256SUMS and prunes copies beyond o->keep.
 * With o->dry_run it reads the file and fills *out (the would-be copy) only. */
int claw_backup_save(const char *path, const claw_backup_opts *o, claw_backup_info *out,
                     claw_err *err);

/* which: NULL or "latest" (newest copy), "pre-update" (the <file>.pre-update copy), an
 * id, or "1", "2", ... (1 = newest). Verifies the copy's sha256 while copying it to a
 * temporary file beside `path`, and only then renames it over `path` (recreating it if
 * it was deleted), keeping the current file's mode (and owner, as root), else the
 * copy's. *out describes the copy restored. With o->dry_run nothing is written. */
int claw_backup_restore(const char *path, const char *which, const claw_backup_opts *o,
                        claw_backup_info *out, claw_err *err);

/* A cJSON array of objects {id, path, source, sha256, size, time}, newest first; an
 * empty array for a file never backed up. The caller owns it (cJSON_Delete). The
 * sha256 is the recorded one; list does not read the copies. NULL on error. */
cJSON *claw_backup_list(const char *path, const claw_backup_opts *o, claw_err *err);

#endif
