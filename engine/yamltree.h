/* YAML → cJSON, for compose files and for claw.yaml. Scalars are typed the way Docker
 * Compose (Go yaml.v3, YAML 1.2 core schema) types them, so a value means here what it
 * means to `docker compose`. Only the first document of a stream is read. */
#ifndef CLAW_YAMLTREE_H
#define CLAW_YAMLTREE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"

/* Limits that keep an alias bomb ("billion laughs") or a deeply nested document
 * from exhausting memory or the stack: nodes counts every JSON value built,
 * including the copies that aliases and merge keys make. */
#define CLAW_YAML_MAX_NODES 1000000
#define CLAW_YAML_MAX_DEPTH 512

/* Parses `len` bytes of YAML. `name` (the file name, say) starts every error message:
 * "NAME:LINE:COLUMN: problem" with code CLAW_E_PARSE. An empty stream gives a JSON
 * null. Returns a tree the caller frees with cJSON_Delete, or NULL. */
cJSON *claw_yaml_parse(const char *text, size_t len, const char *name, claw_err *err);

/* Reads and parses the file at `path`; messages name it as given. A file that cannot
 * be read fails with "cannot read PATH: <strerror>" (CLAW_E_NOT_FOUND when missing). */
cJSON *claw_yaml_load(const char *path, claw_err *err);

#endif

