/* confedit.c - editing config.json (see confedit.h). */
#include <stdio.h>

#include "confedit.h"
#include "mimir/config.h"
#include "mimir/paths.h"

int mm_confedit_load(char *path, size_t len, cJSON **doc)
{
    char why[600];
    if (mm_config_path(path, len) != MM_OK)
        return mm_fail(MM_ERR_CONFIG, "cannot find the config file: set MIMIR_CONFIG or HOME");
    mm_err e = mm_config_read_json(path, doc, why, sizeof(why));
    return e == MM_OK ? 0 : mm_fail(e, "%s", why);
}

int mm_confedit_save(const char *path, cJSON *doc, const mm_opts *o)
{
    char why[600];
    mm_config cfg;
    mm_err e = mm_config_from_json(path, doc, 0, &cfg, why, sizeof(why));
    if (e == MM_OK) {
        mm_config_free(&cfg);
        e = mm_config_write_json(path, doc, why, sizeof(why));
    }
    cJSON_Delete(doc);
    if (e != MM_OK)
        return mm_fail(e, "%s", why);
    mm_client cl;
    if (mm_client_open(&cl, (o->timeout_s ? o->timeout_s : 10) * 1000, 0) == MM_OK) {
        mm_response r;
        if (mm_client_call(&cl, mm_proto_request(MM_OP_RELOAD, 0, NULL), &r) == MM_OK) {
            if (!r.ok)
                fprintf(stderr, "mimir-helper: the agent did not reload: %s\n", r.message);
            mm_response_free(&r);
        }
        mm_client_close(&cl);
    }
    return 0;
}
