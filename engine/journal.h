/* The update journal: one file of JSON lines per update attempt, each line written
 * and fsynced before the step it names is carried out, so that after a crash, a
 * kill -9 or a reboot `clawengine recover` knows how far an update went. A finished
 * attempt (its last line says "end") is its history record. */
#ifndef CLAW_JOURNAL_H
#define CLAW_JOURNAL_H

#include <cjson/cJSON.h>

#include "err.h"

/* Appends one record (an object, written on one line) to the journal file at path,
 * creating it (and its folder) when needed, and fsyncs it. */
int claw_journal_append(const char *path, const cJSON *record, claw_err *err);
/* Every record of a journal, in order, as an array. A torn last line (a crash in
 * the middle of a write) is left out. */
cJSON *claw_journal_read(const char *path, claw_err *err);
/* The process carrying out an update holds an exclusive lock on its journal for as
 * long as it runs, so that recover can tell a live update from an interrupted one.
 * Its folder is created when missing. Returns the locked descriptor (the caller
 * closes it to let go), or -1. */
int claw_journal_lock(const char *path, claw_err *err);
/* 1 when another process holds the journal's lock (its update is under way). */
int claw_journal_busy(const char *path);
/* The journal files in dir (names ending in .journal), oldest first. */
cJSON *claw_journal_files(const char *dir, claw_err *err);

#endif
