/* host_winograd.c - the launch plan of a fused Winograd config (docs/model.md, "Winograd"):
 *
 *   prep    iob_winograd_filter  U = G g G^T (FP64, rounded to FP32) into WORK0, pre-tiled as
 *                                [G][kb][nch][alpha^2][tile_c][tile_k] with zero padding
 *   launch  iob_winograd_fused   input, WORK0 -> output (split_c = 1) or partials in WORK1
 *           iob_winograd_sum     WORK1 -> output (split_c > 1 only)
 *
 * Every launch compiles gpu/kernels/winograd.cu with the same macros: the layer and config
 * (iob_plan_defines), the epilogue geometry and checks from iob_wino_geom_make (WINO_KS, WINO_KR,
 * WINO_BR, WINO_YS, WINO_THREADS, WINO_SMEM_FLOATS, WINO_MIN_BLOCKS = the model's blocks per SM,
 * given to __launch_bounds__), and the transform matrices of iob_winograd_make(m, 3), one macro
 * per entry, row-major: WBT<i> = B^T, WAT<i> = A^T (exact in FP32 for m <= 4, printed with %.9g)
 * and WG<i> = G (printed with %.17g, read as double); and the paired term rule's decisions for
 * B^T and A^T as integer codes (define_rule below: WBTC, WBTF<c>, WBTR<r>, WBTO<r><i>, the same
 * with WAT), which the kernel turns into straight-line code with the preprocessor. One value per
 * macro, no commas or blanks, because nvcc splits a -D value at commas and the macros are split
 * at blanks. Pure C, no CUDA header.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/host_plan_algo.h"
#include "model/winograd_dataflow.h"

/* Allowed error in the metric |y - ref| / sum |x w| (docs/model.md, "Winograd: numerical
 * error"). bench/bench_winograd_error.c (the kernel's arithmetic, bit-exact, on the CPU) measured
 * at most 1.1e-7 for F(2x2) and 1.8e-6 for F(4x4) over C/G = 16..1024, inputs in (-1, 1) and
 * (0, 1), split 1 and 4 (FP32 direct: 2.7e-7). F(2x2) gets the project's FP32 tolerance; F(4x4)
 * about ten times its largest measurement. */
#define WINO_TOL_F2 1e-4
#define WINO_TOL_F4 2e-5

static iob_status define_str(iob_launch *l, const char *name, const char *value, iob_error *err)
{
    size_t used = strlen(l->defines);
    int n = snprintf(l->defines + used, sizeof l->defines - used, "%s-D%s=%s", used ? " " : "",
                     name, value);
    if (n < 0 || (size_t)n >= sizeof l->defines - used) {
        l->defines[used] = '\0';
        return iob_error_set(err, IOB_ERANGE, "kernel macros of %s do not fit", l->entry);
    }
    return IOB_OK;
}

/* Appends prefix<i> = mat[r][c] for the rows x cols matrix, row-major. */
static iob_status define_matrix(iob_launch *l, const char *prefix,
                                const double (*mat)[IOB_WINO_ALPHA_MAX], int rows, int cols,
                                const char *fmt, iob_error *err)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            char name[16], value[40];
            snprintf(name, sizeof name, "%s%d", prefix, r * cols + c);
            snprintf(value, sizeof value, fmt, mat[r][c]);
            iob_status st = define_str(l, name, value, err);
            if (st)
                return st;
        }
    return IOB_OK;
}

/* The paired term rule (docs/model.md, "Winograd: arithmetic"; the library's copy is
 * iob_wino_apply_f32 in model/winograd.c) decided here, on the host, for the rows x n matrix M
 * (FP32 entries), and handed to the kernel as integer macros, so that the kernel's transforms
 * (gpu/kernels/winograd.cu, WP_*) are straight-line code chosen by the preprocessor: NVVM no
 * longer folds branches on the matrix entries (5 s of NVRTC per F(4x4) config before). Names,
 * with P the prefix (WBT, WAT) and r, i, c single digits:
 *   P C     1: M has mirrored column pairs (column c+1 = (-1)^r column c, column c not zero),
 *           taken left to right without overlap; 0: it has none
 *   P F<c>  (P C = 1, c < n-1) the inputs of column c: 0 ve = vo = x_c; 1 ve = x_c + x_{c+1},
 *           vo = x_c; 2 ve = x_c, vo = x_c - x_{c+1}; 3 both sums (1: an even row uses the
 *           pair, 2: an odd row does); even rows read ve, odd rows vo
 *   P R<r>  0 y_r is the term rule over all i; 1 rows r, r+1 are a mirrored pair (P C = 0 only):
 *           E = term rule over the even i, O over the odd i, y_r = E + O, y_{r+1} = E - O;
 *           2 the second row of such a pair; 3 y_r = 0 (no nonzero coefficient)
 *   P O<r><i> term i of row r (column mode: with the pairs' second columns zeroed): 0 none;
 *           the first term of its sum: 1 acc = v, 2 acc = -v, 3 acc = c * v; a later one:
 *           4 acc += v, 5 acc -= v, 6 acc += c * v (c = M[r][i], v = the input of column i)
 * For matrices up to 9 x 9 (alpha <= 6 here). */
static iob_status define_code(iob_launch *l, const char *prefix, const char *kind, int a, int b,
                              int code, iob_error *err)
{
    char name[24], value[8];
    if (a < 0)
        snprintf(name, sizeof name, "%s%s", prefix, kind);
    else if (b < 0)
        snprintf(name, sizeof name, "%s%s%d", prefix, kind, a);
    else
        snprintf(name, sizeof name, "%s%s%d%d", prefix, kind, a, b);
    snprintf(value, sizeof value, "%d", code);
    return define_str(l, name, value, err);
}

/* Codes P O<r><i> of the term rule over the entries of row r of M (rows x n) whose index has the
 * given parity (0 even, 1 odd, 2 all); returns how many terms the row has. */
static int term_codes(const float *M, int n, int r, int parity, int *code)
{
    int terms = 0;
    for (int i = 0; i < n; i++) {
        float c = M[r * n + i];
        if (c == 0.0f || (parity != 2 && (i & 1) != parity))
            continue;
        int kind = c == 1.0f ? 1 : c == -1.0f ? 2 : 3;
        code[r * n + i] = terms++ ? kind + 3 : kind;
    }
    return terms;
}

/* Appends the macros of the paired term rule for mat (rows x n) under prefix (see above). */
static iob_status define_rule(iob_launch *l, const char *prefix,
                              const double (*mat)[IOB_WINO_ALPHA_MAX], int rows, int n,
                              iob_error *err)
{
    enum { NMAX = IOB_WINO_ALPHA_MAX };
    float M[NMAX * NMAX];
    int fold[NMAX] = {0}, rowc[NMAX] = {0}, code[NMAX * NMAX] = {0}, cols = 0;
    if (rows > 9 || n > 9)
        return iob_error_set(err, IOB_ERANGE, "%s: a %d x %d matrix has no macro names", prefix,
                             rows, n);
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < n; i++)
            M[r * n + i] = (float)mat[r][i];
    for (int c = 0; c + 1 < n; c++) /* column pairs, left to right without overlap */
        if (iob_wino_col_pair(M, rows, n, c) && !(c > 0 && (fold[c - 1] & 4))) {
            fold[c] = 4;
            cols = 1;
        }
    if (cols) {
        for (int c = 0; c + 1 < n; c++) {
            if (!fold[c])
                continue;
            fold[c] = 0;
            for (int r = 0; r < rows; r++) {
                if (M[r * n + c] != 0.0f)
                    fold[c] |= (r & 1) ? 2 : 1;
                M[r * n + c + 1] = 0.0f; /* the pair's second column is folded into the first */
            }
        }
        for (int r = 0; r < rows; r++)
            rowc[r] = term_codes(M, n, r, 2, code) ? 0 : 3;
    } else {
        for (int r = 0; r < rows; r++) {
            if (r + 1 < rows && iob_wino_row_pair(M, n, r)) {
                term_codes(M, n, r, 0, code);
                term_codes(M, n, r, 1, code);
                rowc[r] = 1;
                rowc[++r] = 2;
            } else {
                rowc[r] = term_codes(M, n, r, 2, code) ? 0 : 3;
            }
        }
    }
    iob_status st = define_code(l, prefix, "C", -1, -1, cols, err);
    for (int c = 0; !st && cols && c + 1 < n; c++)
        st = define_code(l, prefix, "F", c, -1, fold[c], err);
    for (int r = 0; !st && r < rows; r++)
        st = define_code(l, prefix, "R", r, -1, rowc[r], err);
    for (int r = 0; !st && r < rows; r++)
        for (int i = 0; !st && i < n; i++)
            st = define_code(l, prefix, "O", r, i, code[r * n + i], err);
    return st;
}

iob_status iob_wino_transform_defines(iob_launch *l, int m, iob_error *err)
{
    iob_winograd w;
    iob_status st = iob_winograd_make(m, 3, &w, err);
    int alpha = m + 2;
    if (st || (st = define_matrix(l, "WBT", w.BT, alpha, alpha, "%.9g", err)) ||
        (st = define_matrix(l, "WAT", w.AT, m, alpha, "%.9g", err)) ||
        (st = define_matrix(l, "WG", w.G, alpha, 3, "%.17g", err)) ||
        (st = define_rule(l, "WBT", w.BT, alpha, alpha, err)) ||
        (st = define_rule(l, "WAT", w.AT, m, alpha, err)))
        return st;
    return IOB_OK;
}

static iob_status common_defines(const iob_layer *L, const iob_config *c, const iob_wino_geom *g,
                                 const iob_resources *res, iob_launch *l, iob_error *err)
{
    iob_status st = iob_plan_defines(L, c, l->defines, sizeof l->defines, err);
    if (st)
        return st;
    const struct { const char *name; long long v; } geo[] = {
        {"WINO_KS", g->ks}, {"WINO_KR", g->kr}, {"WINO_BR", g->br}, {"WINO_YS", g->ys},
        {"WINO_THREADS", g->threads}, {"WINO_SMEM_FLOATS", g->smem_floats},
        {"WINO_MIN_BLOCKS", res->blocks_per_sm},
    };
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++)
        if ((st = iob_launch_define(l, geo[i].name, geo[i].v, err)))
            return st;
    return iob_wino_transform_defines(l, g->m, err);
}

/* A launch of winograd.cu with the plan's common macros */
static iob_status launch_init(iob_launch *l, const char *entry, const char *defines,
                              uint64_t grid_x, uint32_t grid_y, uint32_t grid_z, int threads,
                              int64_t smem, iob_error *err)
{
    iob_status st = iob_launch_init(l, "winograd.cu", entry, (int64_t)grid_x, grid_y, grid_z,
                                    threads, smem, err);
    if (st)
        return st;
    if (strlen(defines) >= sizeof l->defines)
        return iob_error_set(err, IOB_ERANGE, "kernel macros of %s do not fit", entry);
    memcpy(l->defines, defines, strlen(defines) + 1);
    return IOB_OK;
}

static iob_status build(const iob_layer *L, const iob_config *c, const iob_machine *m,
                        const iob_resources *res, iob_plan *plan, iob_error *err)
{
    (void)m;
    iob_wino_geom g;
    iob_status st = iob_wino_geom_make(L, c, &g, err);
    if (st)
        return st;
    iob_launch tmp;
    memset(&tmp, 0, sizeof tmp);
    snprintf(tmp.entry, sizeof tmp.entry, "iob_winograd_fused");
    if ((st = common_defines(L, c, &g, res, &tmp, err)))
        return st;
    const char *defs = tmp.defines;

    plan->work_bytes[0] = 4 * g.u_elems;
    plan->work_bytes[1] = 4 * g.part_elems;
    uint64_t u_threads = (uint64_t)g.u_elems / (uint64_t)g.a2;
    plan->nprep = 1;
    if ((st = launch_init(&plan->prep[0], "iob_winograd_filter", defs,
                          (u_threads + IOB_WINO_AUX_THREADS - 1) / IOB_WINO_AUX_THREADS, 1, 1,
                          IOB_WINO_AUX_THREADS, 0, err)))
        return st;
    iob_launch_arg_buf(&plan->prep[0], IOB_BUF_FILTER);
    iob_launch_arg_buf(&plan->prep[0], IOB_BUF_WORK0);

    plan->nlaunch = 1;
    iob_launch *f = &plan->launch[0];
    if ((st = launch_init(f, "iob_winograd_fused", defs, g.grid[0], g.grid[1], g.grid[2],
                          g.threads, g.smem_bytes, err)))
        return st;
    iob_launch_arg_buf(f, IOB_BUF_INPUT);
    iob_launch_arg_buf(f, IOB_BUF_WORK0);
    iob_launch_arg_buf(f, c->split_c > 1 ? IOB_BUF_WORK1 : IOB_BUF_OUTPUT);
    if (c->split_c > 1) {
        plan->nlaunch = 2;
        iob_launch *s = &plan->launch[1];
        if ((st = launch_init(s, "iob_winograd_sum", defs, (uint64_t)g.sum_blocks, 1, 1,
                              IOB_WINO_AUX_THREADS, 0, err)))
            return st;
        iob_launch_arg_buf(s, IOB_BUF_WORK1);
        iob_launch_arg_buf(s, IOB_BUF_OUTPUT);
    }
    plan->tolerance = g.m == 2 ? WINO_TOL_F2 : WINO_TOL_F4;
    return IOB_OK;
}

const iob_plan_builder iob_plan_winograd = {IOB_ALGO_WINOGRAD, build};
