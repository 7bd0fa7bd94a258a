/* Reports: how a policy run by the daemon tells it outcomes for its metrics. The
 * daemon gives each run a pipe as the descriptor named by $CLAWENGINE_REPORT_FD
 * (engine/runs.c reads the other end); a report is one JSON line
 * {kind, target, outcome, ...} written in one write of less than PIPE_BUF, so that
 * reports are never interleaved. */
#ifndef CLAW_REPORT_H
#define CLAW_REPORT_H

#include <cjson/cJSON.h>

#include "err.h"

/* Sends rec: 1 when sent, 0 when there is no daemon to send it to (a policy run by
 * hand), -1 with err when the write failed or the record is too long. */
int claw_report_send(const cJSON *rec, claw_err *err);

#endif
