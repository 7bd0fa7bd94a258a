/* The daemon's schedules: parsing, and the times planned from the one just due. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "check.h"
#include "schedule.h"

static claw_schedule *parse(const char *json, int *n, claw_err *e)
{
    cJSON *o = cJSON_Parse(json);
    claw_schedule *s = NULL;
    int rc = claw_sched_parse(o, "daemon.yml", &s, n, e);
    cJSON_Delete(o);
    return rc == 0 ? s : NULL;
}

int main(void)
{
    int n = 0;
    claw_err e = { 0 };
    claw_schedule *s = parse("{\"hourly\": {\"cron\": \"@every 60s\", \"policy\": \"x.lua\", \"jitter\": 10}}", &n, &e);
    CHECK(s != NULL);
    CHECK_INT(n, 1);
    if (s) {
        claw_sched_plan(s, 1000.5, 0.5);
        CHECK_INT(s->due, 1060);
        CHECK(s->start_at == 1065.0);
        /* the run started with its jitter: the next is counted from the time due */
        claw_sched_plan(s, 1065.2, 0);
        CHECK_INT(s->due, 1120);
        int64_t t[3];
        CHECK_INT(claw_sched_upcoming(s, 1065.2, t, 3), 3);
        CHECK_INT(t[0], 1120);
        CHECK_INT(t[1], 1180);
        CHECK_INT(t[2], 1240);
        /* after a stall longer than the jitter: from now, nothing made up */
        claw_sched_plan(s, 5000.0, 0);
        CHECK_INT(s->due, 5060);
        claw_sched_free(s, n);
    }

    s = parse("{\"update\": {\"cron\": \"@daily\", \"policy\": \"x.lua\"}}", &n, &e);
    CHECK(s == NULL);
    CHECK_STR(e.message, "daemon.yml: schedules.update: \"update\" and \"recover\" name the daemon's own runs; "
                         "choose another name");
    s = parse("{\"nightly\": {\"cron\": \"0 25 * * *\", \"policy\": \"x.lua\"}}", &n, &e);
    CHECK(s == NULL);
    CHECK_STR(e.message, "daemon.yml: schedules.nightly.cron: hour field \"25\": 25 is out of range 0-23");
    return check_done();
}
