/* config.c - the one list of config keys and its text form (parse, format, compare). Every stage
 * reads configs through this table, so a key means the same thing in the model, the simulator,
 * the kernel macros (upper-cased) and the JSON. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "iobound/dataflow.h"

#define FIELD(name, doc) {#name, offsetof(iob_config, name), doc}
static const iob_config_field fields[] = {
    FIELD(wino_m, "Winograd output tile side m of F(m x m, r x r)"),
    FIELD(tile_k, "output channels per block"),
    FIELD(tile_p, "output rows per block"),
    FIELD(tile_q, "output columns per block"),
    FIELD(tile_c, "input channels per pipeline stage"),
    FIELD(micro_k, "output channels per thread (register tile)"),
    FIELD(micro_p, "output rows per thread (register tile)"),
    FIELD(micro_q, "output columns per thread (register tile)"),
    FIELD(stages, "shared-memory buffers of the load pipeline"),
    FIELD(split_c, "blocks the input channels are split over"),
    FIELD(layout, "tensor layout: 0 = NCHW"),
    FIELD(tile_n, "images per block (0 or 1: one)"),
};
#undef FIELD
#define NFIELDS ((int)(sizeof fields / sizeof fields[0]))

int iob_config_field_count(void) { return NFIELDS; }
const iob_config_field *iob_config_field_at(int i)
{
    return i >= 0 && i < NFIELDS ? &fields[i] : NULL;
}

static int *field_ptr(iob_config *cfg, const iob_config_field *f)
{
    return (int *)((char *)cfg + f->offset);
}

iob_status iob_config_parse(const char *text, iob_config *cfg, iob_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->algo = IOB_ALGO_DIRECT;
    cfg->stages = 1;
    cfg->split_c = 1;
    if (!text || !*text)
        return iob_error_set(err, IOB_EINVAL, "empty config");
    char buf[1024];
    if (strlen(text) >= sizeof buf)
        return iob_error_set(err, IOB_EINVAL, "config text too long");
    strcpy(buf, text);
    int have_algo = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*tok))
            tok++;
        if (!*tok)
            continue;
        char *eq = strchr(tok, '=');
        if (!eq)
            return iob_error_set(err, IOB_EINVAL, "config item '%s' is not key=value", tok);
        *eq = '\0';
        char *key = tok, *val = eq + 1;
        for (char *e = eq - 1; e >= key && isspace((unsigned char)*e); e--)
            *e = '\0';
        while (isspace((unsigned char)*val))
            val++;
        if (!strcmp(key, "algo")) {
            iob_status st = iob_algo_parse(val, &cfg->algo, err);
            if (st)
                return st;
            have_algo = 1;
            continue;
        }
        int i;
        for (i = 0; i < NFIELDS; i++)
            if (!strcmp(fields[i].key, key))
                break;
        if (i == NFIELDS) {
            char known[512] = "algo";
            for (int j = 0; j < NFIELDS; j++) {
                strcat(known, " ");
                strcat(known, fields[j].key);
            }
            return iob_error_set(err, IOB_EINVAL, "unknown config key '%s' (known: %s)", key, known);
        }
        char *end;
        long v = strtol(val, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (end == val || *end || v < 0 || v > 1 << 20)
            return iob_error_set(err, IOB_EINVAL, "config %s=%s: expected a whole number from 0 "
                                 "to %d", key, val, 1 << 20);
        *field_ptr(cfg, &fields[i]) = (int)v;
    }
    if (!have_algo)
        return iob_error_set(err, IOB_EINVAL, "config '%s' has no algo=... key", text);
    return IOB_OK;
}

int iob_config_format(const iob_config *cfg, char *buf, size_t size)
{
    int n = snprintf(buf, size, "algo=%s", iob_algo_name(cfg->algo));
    for (int i = 0; i < NFIELDS; i++) {
        int v = *(const int *)((const char *)cfg + fields[i].offset);
        /* keys an algorithm does not use stay 0 and are left out; stages and split_c always show */
        if (!v && strcmp(fields[i].key, "stages") && strcmp(fields[i].key, "split_c"))
            continue;
        if ((size_t)n < size)
            n += snprintf(buf + n, size - (size_t)n, ",%s=%d", fields[i].key, v);
        else
            n += snprintf(NULL, 0, ",%s=%d", fields[i].key, v);
    }
    return n;
}

int iob_config_equal(const iob_config *a, const iob_config *b)
{
    if (a->algo != b->algo)
        return 0;
    for (int i = 0; i < NFIELDS; i++)
        if (*(const int *)((const char *)a + fields[i].offset) !=
            *(const int *)((const char *)b + fields[i].offset))
            return 0;
    return 1;
}

iob_status iob_config_parse_json(const char *json, iob_config *cfg, iob_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->algo = IOB_ALGO_DIRECT;
    cfg->stages = 1;
    cfg->split_c = 1;
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    if (!root)
        return iob_error_set(err, IOB_EINVAL, "config is not valid JSON");
    const cJSON *obj = root;
    const cJSON *inner = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "config")
                                              : NULL;
    if (cJSON_IsObject(inner))
        obj = inner;
    iob_status st = IOB_OK;
    int have_algo = 0;
    if (!cJSON_IsObject(obj)) {
        st = iob_error_set(err, IOB_EINVAL, "config JSON must be an object");
        goto done;
    }
    for (const cJSON *it = obj->child; it; it = it->next) {
        char val[64];
        if (cJSON_IsString(it))
            snprintf(val, sizeof val, "%s", it->valuestring);
        else if (cJSON_IsNumber(it) && it->valuedouble == (double)(long)it->valuedouble)
            snprintf(val, sizeof val, "%ld", (long)it->valuedouble);
        else {
            st = iob_error_set(err, IOB_EINVAL, "config key '%s': expected a whole number or a "
                               "string", it->string ? it->string : "?");
            goto done;
        }
        /* one key=value item through the text parser keeps a single grammar for values */
        char item[160];
        iob_config one;
        snprintf(item, sizeof item, "algo=%s,%s=%s", iob_algo_name(cfg->algo),
                 it->string ? it->string : "", val);
        if (it->string && !strcmp(it->string, "algo")) {
            if ((st = iob_algo_parse(val, &cfg->algo, err)))
                goto done;
            have_algo = 1;
            continue;
        }
        if ((st = iob_config_parse(item, &one, err)))
            goto done;
        for (int i = 0; i < NFIELDS; i++)
            if (!strcmp(fields[i].key, it->string))
                *field_ptr(cfg, &fields[i]) = *field_ptr(&one, &fields[i]);
    }
    if (!have_algo)
        st = iob_error_set(err, IOB_EINVAL, "config JSON has no \"algo\" key");
done:
    cJSON_Delete(root);
    return st;
}
