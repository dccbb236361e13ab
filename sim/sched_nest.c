/* sched_nest.c - a walker for tiled, perfectly nested loops (the loop orders of sim/sched.h):
 * two odometers, the outer one over tile origins in tile_order, the inner one over the points of
 * the current tile in point_order (partial tiles at the upper edges included). */
#include <string.h>

#include "sim/sched.h"

iob_status iob_nest_order(const char *order, const char *letters, int full, int *dims, int *n,
                          iob_error *err)
{
    int nl = (int)strlen(letters), seen[IOB_NEST_MAX] = {0};
    *n = 0;
    for (const char *p = order; *p; p++) {
        const char *at = strchr(letters, *p);
        if (!at || nl > IOB_NEST_MAX)
            return iob_error_set(err, IOB_EINVAL, "loop order '%s': '%c' is not one of '%s'",
                                 order, *p, letters);
        int d = (int)(at - letters);
        if (seen[d]++)
            return iob_error_set(err, IOB_EINVAL, "loop order '%s' repeats '%c'", order, *p);
        dims[(*n)++] = d;
    }
    if (full && *n != nl)
        return iob_error_set(err, IOB_EINVAL, "loop order '%s' must name each of '%s' once",
                             order, letters);
    return IOB_OK;
}

iob_status iob_nest_run(const iob_nest *nest, iob_nest_fn fn, void *ctx, iob_error *err)
{
    int nd = nest->ndims;
    if (nd < 1 || nd > IOB_NEST_MAX)
        return iob_error_set(err, IOB_EINVAL, "loop nest of %d dimensions", nd);
    for (int d = 0; d < nd; d++)
        if (nest->extent[d] <= 0)
            return IOB_OK; /* an empty range: no points */
    /* a dimension has tiles only when tile_order names it */
    int64_t step[IOB_NEST_MAX];
    for (int d = 0; d < nd; d++)
        step[d] = nest->extent[d];
    for (int i = 0; i < nest->ntile; i++) {
        int d = nest->tile_order[i];
        if (d < 0 || d >= nd)
            return iob_error_set(err, IOB_EINVAL, "tile loop over dimension %d of %d", d, nd);
        if (nest->tile[d] > 0 && nest->tile[d] < nest->extent[d])
            step[d] = nest->tile[d];
    }
    int64_t origin[IOB_NEST_MAX] = {0}, lo[IOB_NEST_MAX], hi[IOB_NEST_MAX], idx[IOB_NEST_MAX];
    for (;;) {
        for (int d = 0; d < nd; d++) {
            lo[d] = origin[d];
            hi[d] = origin[d] + step[d];
            if (hi[d] > nest->extent[d])
                hi[d] = nest->extent[d];
            idx[d] = lo[d];
        }
        /* the points of this tile */
        for (;;) {
            iob_status st = fn(ctx, idx, err);
            if (st)
                return st;
            int lvl = nd - 1;
            for (; lvl >= 0; lvl--) {
                int d = nest->point_order[lvl];
                if (++idx[d] < hi[d])
                    break;
                idx[d] = lo[d];
            }
            if (lvl < 0)
                break;
        }
        /* the next tile origin (dims not in tile_order have one tile) */
        int lvl = nest->ntile - 1;
        for (; lvl >= 0; lvl--) {
            int d = nest->tile_order[lvl];
            origin[d] += step[d];
            if (origin[d] < nest->extent[d])
                break;
            origin[d] = 0;
        }
        if (lvl < 0)
            return IOB_OK;
    }
}
