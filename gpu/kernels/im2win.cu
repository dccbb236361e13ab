/* im2win.cu - the window transform of the im2win dataflow (Lu et al. 2023; docs/model.md,
 * "im2win") and its filter reorder. The dot products are the direct kernel (direct.cu) on the
 * derived layer N x C x P x Wp*R with a 1 x R*S filter at stride (1, sw*R).
 *
 * Kernels (extern "C"), each compiled with its own launch's macros:
 *   im2win_window   (BM_KIND = BM_IM2WIN and the layer's LAYER_*): win[n][c][p][x][r] =
 *                   in_padded[n][c][p*sh + r*dh][x] for x < BM_WP, zeros on padding. One block per
 *                   (image, channel, band of BM_BAND output rows), BM_THREADS threads; the body is
 *                   band_copy.cuh, the map band_map.cuh.
 *   im2win_filter   prep, once per layer (the derived layer's LAYER_*, the config and the direct
 *                   kernel's DIRECT_* macros, plus IM2WIN_R and IM2WIN_S = the layer's R and S):
 *                   the filter [K][C/G][R][S] straight into the direct kernel's workspace layout
 *                   of the derived filter [K][C/G][1][R*S] with tap s' = s*R + r, i.e. the
 *                   reorder to [k][c][s][r] and direct_filter_crsk in one pass (one thread per
 *                   workspace float, zeros where direct.cu pads).
 */
#include "band_copy.cuh"

#ifdef BM_KIND
IOB_STATIC_ASSERT(BM_KIND == BM_IM2WIN, "im2win.cu is the im2win transform");

IOB_KERNEL void __launch_bounds__(BM_THREADS)
    im2win_window(const float *IOB_RESTRICT in, float *IOB_RESTRICT win)
{
    IOB_DYN_SMEM(sm);
    bm_transform(in, win, sm);
}
#endif

#ifdef IM2WIN_R
#include "direct_map.cuh"

IOB_STATIC_ASSERT(LAYER_R == 1 && LAYER_S == IM2WIN_R * IM2WIN_S,
                  "im2win_filter takes the derived layer's macros: R' = 1, S' = R*S");

IOB_KERNEL void __launch_bounds__(256)
    im2win_filter(const float *IOB_RESTRICT f, float *IOB_RESTRICT ft)
{
    /* the fields of the direct kernel's geometry that dm_f_source reads (direct.cu, dm_make) */
    dm_geom G = {0};
    G.r = LAYER_R;
    G.s = LAYER_S;
    G.cg = LAYER_C / LAYER_GROUPS;
    G.kg = LAYER_K / LAYER_GROUPS;
    G.tile_k = TILE_K;
    G.tiles_k = (G.kg + TILE_K - 1) / TILE_K;
    G.cgp = (G.cg + TILE_C - 1) / TILE_C * TILE_C;
    G.tkp = DIRECT_TKP;
    const long long e = (long long)blockIdx.x * 256 + threadIdx.x;
    if (e >= DIRECT_WS_FILTER)
        return;
    const long long src = dm_f_source(&G, e); /* in the derived [K][C/G][1][R*S] */
    float v = 0.0f;
    if (src >= 0) {
        const long long kc = src / LAYER_S;
        const int sp = (int)(src % LAYER_S), s = sp / IM2WIN_R, r = sp % IM2WIN_R;
        v = LDG(f + kc * LAYER_S + r * IM2WIN_S + s);
    }
    STG(ft + e, v);
}
#endif
