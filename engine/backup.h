/* Backups of config files, state directories and Docker volumes: the mechanism behind
 * claw.backup. A policy saves before an update and puts back on rollback, replacing
 * the hand-written `cp openclaw.json openclaw.json.pre-update` -- and, because an
 * application that migrated its state directory on upgrade leaves state the older
 * release refuses, the whole directory (or named volume) when that is what it uses.
 *
 * On disk, for a file or directory /abs/dir/x and a store S:
 *
 *   S/x-<h>/                      0700; <h> = first 12 hex of sha256("/abs/dir/x")
 *       SHA256SUMS                one line per save, oldest first, so that
 *                                 `sha256sum -c SHA256SUMS` works in the folder:
 *                                   "<sha256>  <id>"             a file's copy
 *                                   "<sha256>  <id>/SHA256SUMS"  a directory snapshot,
 *                                   by the sha256 of its own manifest
 *       <id>                      a file's copy, the original's mode (and owner)
 *       <id>/                     a directory snapshot, 0700:
 *           SHA256SUMS              "<sha256>  tree/<relative path>" per regular file,
 *                                   in tree order (names sorted bytewise in each
 *                                   directory), written like sha256sum does (a name
 *                                   holding "\" or a newline is escaped and its line
 *                                   starts with "\"), so `sha256sum -c SHA256SUMS`
 *                                   works in <id>/
 *           tree/                   the copy: directories, regular files and symlinks
 *                                   (kept as symlinks) with their modes, mtimes and,
 *                                   as root, owners
 *       source                    "/abs/dir/x\n", for people reading the store
 *       .lock                     serialises concurrent saves of different processes
 *   /abs/dir/x.pre-update         for a file only: a copy of the newest save, the name
 *                                 users know. A directory has none (it would double
 *                                 the state beside itself); "pre-update" names nothing.
 *
 * A Docker volume is named "volume:NAME" and filed under S/volume-NAME-<h>/ (<h> from
 * sha256("volume:NAME")), with the same layout; its files are read from and restored
 * to its Mountpoint, which Docker gives (GET /volumes/NAME) for the "local" driver.
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
 * stays sound when a save fails between its renames. A directory snapshot's manifest
 * must match its line in the folder's SHA256SUMS, and the snapshot's regular files
 * must be exactly those its manifest lists, each with its sha256 (symlinks,
 * directories and metadata are taken as stored).
 *
 * Every file write is atomic: a temporary file in the destination's directory,
 * written in full, fsync'd, renamed over the target, then the directory fsync'd; a
 * failure removes the temporary file, so no partial file is ever left behind. A
 * directory snapshot is built in a hidden temporary folder in the store, made durable
 * (syncfs) and renamed to <id> before SHA256SUMS records it. A directory restore
 * builds the whole tree in a hidden sibling (".<name>.restore-XXXXXX"), verifying
 * every file while copying it, makes it durable and swaps it in with one
 * renameat2(RENAME_EXCHANGE) (on file systems without it: rename the old tree aside,
 * rename the new one in), then removes the old tree.
 *
 * Consistency of a directory snapshot: each file is read once, hashed while copied;
 * a file or directory that changes meanwhile (size or mtime) makes the snapshot start
 * over once, and fail (code "conflict") if it changes again. Hard links are copied
 * as separate files; extended attributes and ACLs are not kept; device files, FIFOs
 * and sockets are refused.
 *
 * Paths are made absolute against the cwd and normalised lexically ("./x.json" and
 * "x.json" share one folder); symlinks are not resolved, because restore must work
 * after the file was deleted. A file restore renames over the path itself, so a
 * symlink there is replaced by a regular file; a directory restore onto a symlink to
 * a directory replaces the directory it points to and keeps the link. */
#ifndef CLAW_BACKUP_H
#define CLAW_BACKUP_H

#include <cjson/cJSON.h>

#include "docker.h"
#include "err.h"

typedef struct claw_backup_opts {
    const char *store;   /* directory holding the timestamped copies (required) */
    int keep;            /* how many copies or snapshots to keep per path; <= 0 means 10 */
    int dry_run;         /* compute and validate everything, write nothing */
    claw_docker *docker; /* asked where a "volume:NAME" lives; NULL refuses volumes */
    int keep_pre_update; /* a file's save leaves <source>.pre-update as it is */
} claw_backup_opts;

typedef struct claw_backup_info {
    char id[40];       /* e.g. "20261126T121547.123Z" (UTC, milliseconds); unique per path;
                          "pre-update" for the .pre-update copy */
    char kind[8];      /* "file" or "dir" (a directory or volume snapshot) */
    char path[4096];   /* absolute path of the copy, or of the snapshot's folder <id>/ */
    char source[4096]; /* absolute path of the original, or "volume:NAME" */
    char sha256[65];   /* hex; of the snapshot's own SHA256SUMS for a directory */
    long long size;    /* bytes (all regular files of a snapshot); -1 in a list when the
                          copy is missing */
    long long files;   /* regular files: 1 for a file's copy; -1 when missing */
    double time;       /* seconds since the epoch when the copy was saved */
} claw_backup_info;

/* Lowercase hex sha256 of a file's content. */
int claw_sha256_file(const char *path, char hex[65], claw_err *err);

/* path: a file, a directory or "volume:NAME" (o->docker then required).
 * A regular file is copied to a new timestamped copy in the store and to
 * <path>.pre-update; a directory (or a symlink to one) or a volume is snapshotted
 * into <id>/ (see above). Records it in SHA256SUMS and prunes beyond o->keep.
 * With o->dry_run it reads everything and fills *out (the would-be copy) only. */
int claw_backup_save(const char *path, const claw_backup_opts *o, claw_backup_info *out,
                     claw_err *err);

/* which: NULL or "latest" (newest copy), "pre-update" (the <file>.pre-update copy; files
 * only), an id, or "1", "2", ... (1 = newest). A file's copy is verified while being
 * copied to a temporary file beside `path`, and only then renamed over `path`
 * (recreating it if it was deleted), keeping the current file's mode (and owner, as
 * root), else the copy's. A directory snapshot is verified and rebuilt beside `path`
 * and swapped in (see above); the directory keeps its current mode and owner (else
 * the snapshot's), and everything below it becomes exactly the snapshot: files added
 * since are gone. Any mismatch fails with "checksum", naming the first bad file, and
 * changes nothing. *out describes the copy restored. With o->dry_run nothing is
 * written (a snapshot is still verified in full). Restoring a directory or volume that
 * a running container uses is the caller's responsibility: the container keeps
 * seeing the old tree until it restarts. */
int claw_backup_restore(const char *path, const char *which, const claw_backup_opts *o,
                        claw_backup_info *out, claw_err *err);

/* A cJSON array of objects {id, kind, path, source, sha256, size, files, time},
 * newest first; an empty array for a path never backed up. path may be "volume:NAME"
 * (Docker is not asked). The caller owns it (cJSON_Delete). The sha256 is the
 * recorded one; list reads no copy's content. NULL on error. */
cJSON *claw_backup_list(const char *path, const claw_backup_opts *o, claw_err *err);

/* The directory holding a volume's files, from Docker's answer to GET /volumes/NAME:
 * its Mountpoint. Refuses drivers other than "local" (their files are not on this
 * host) and local volumes with mount options (type=nfs, tmpfs, ...: their files are
 * in the mountpoint only while a container uses them). */
int claw_backup_volume_dir(const cJSON *volume, const char *name, char dir[4096],
                           claw_err *err);
/* Where volume NAME's files are (o->docker asks), with the checks a backup of it
 * makes first; nothing is written. */
int claw_backup_volume_where(const char *name, const claw_backup_opts *o, char dir[4096],
                             claw_err *err);

#endif
