/* layer.h - a convolution layer: its shape, its output size, its FLOPs and compulsory traffic.
 *
 * Letters as CUTLASS fixes them: input N x C x H x W, filter K x (C/groups) x R x S, output
 * N x K x P x Q, with per-axis stride, padding (top/bottom/left/right) and dilation.
 *
 *   P = floor((H + pad_top + pad_bottom - dil_h*(R-1) - 1) / stride_h) + 1   (Q likewise)
 *
 * Spec grammar (docs/cli.md): comma-separated key=value pairs, e.g.
 *   n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1
 * with defaults n=1, w=h, s=r, stride=1, pad=0, dilation=1, groups=1.
 */
#ifndef IOBOUND_LAYER_H
#define IOBOUND_LAYER_H

#include <stdint.h>
#include <stdio.h>

#include "iobound/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_NAME_MAX 128 /* bytes of a layer or machine name, NUL included */
#define IOB_DIM_MAX 2147483647LL /* largest value of any single shape field */

typedef struct iob_layer {
    char name[IOB_NAME_MAX];
    int64_t n, c, h, w;          /* input */
    int64_t k, r, s;             /* filter: k output channels, r x s taps */
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_bottom, pad_left, pad_right;
    int64_t dil_h, dil_w;
    int64_t groups;
    int64_t p, q;                /* output size, derived by iob_layer_finish() */
    /* parser bookkeeping: which fields were given, and pad=same still to be resolved */
    uint32_t given;
    uint8_t pad_same_h, pad_same_w;
} iob_layer;

/* Quantities derived from a finished layer; every count is exact and checked against
 * 64-bit overflow. "Useful" MACs skip the taps that fall on padding. */
typedef struct iob_layer_counts {
    uint64_t macs;             /* N*K*P*Q*(C/G)*R*S: the usual count, padding taps included */
    uint64_t useful_macs;      /* multiply-adds whose input element is a real input */
    uint64_t flops;            /* 2 * macs */
    uint64_t input_elems;      /* N*C*H*W */
    uint64_t input_used_elems; /* input elements that some output reads (stride may skip some) */
    uint64_t weight_elems;     /* K*(C/G)*R*S */
    uint64_t weight_used_elems; /* weights whose tap reaches a real input for some output */
    uint64_t output_elems;     /* N*K*P*Q */
    uint64_t compulsory_elems; /* input_used + weight_used + output: each read once / written once */
} iob_layer_counts;

/* Sets every field to its default (n=1, stride=1, dil=1, groups=1, pads 0) and the shape fields
 * c, h, w, k, r, s to 0 (= not given). */
void iob_layer_init(iob_layer *layer);

/* Parses a spec string (grammar above) into layer and finishes it. On failure returns
 * IOB_EINVAL or IOB_ERANGE with one line naming the key, the value and the reason; layer is
 * then unspecified. */
iob_status iob_layer_parse(const char *spec, iob_layer *layer, iob_error *err);

/* Sets one key of a layer being built from text ("stride", "pad_top", "pad" = "same", ...).
 * Used by the spec parser and the CSV/JSON readers so that every source obeys one grammar.
 * Returns IOB_EINVAL for an unknown key or a malformed value. `pad=same` is remembered and
 * resolved by iob_layer_finish(). */
iob_status iob_layer_set(iob_layer *layer, const char *key, const char *value, iob_error *err);

/* Applies defaults (w=h, s=r), resolves pad=same, validates every field and computes p and q.
 * Fails (IOB_EINVAL / IOB_ERANGE) on a missing required field (c, h, k, r), a zero or negative
 * size, groups not dividing c and k, a dilated kernel larger than the padded input, or counts
 * that overflow 64 bits. */
iob_status iob_layer_finish(iob_layer *layer, iob_error *err);

/* Like iob_layer_finish(), but declared output sizes (p, q given as keys) are not checked:
 * they are returned in *declared_p / *declared_q (0 when not given) so that a file reader can
 * report a disagreement as a warning and keep the shape. */
iob_status iob_layer_finish_declared(iob_layer *layer, int64_t *declared_p, int64_t *declared_q,
                                     iob_error *err);

/* Exact counts of a finished layer (see iob_layer_counts). Fails with IOB_ERANGE if a count
 * overflows 64 bits. */
iob_status iob_layer_counts_get(const iob_layer *layer, iob_layer_counts *counts, iob_error *err);

/* Number of positions x in [0, extent) that some output reads along one axis: outputs
 * o in [0, out), taps t in [0, taps), x = o*stride + t*dil - pad. O(taps) time. */
int64_t iob_axis_used(int64_t extent, int64_t out, int64_t taps, int64_t stride, int64_t dil,
                      int64_t pad);

/* Number of outputs o in [0, out) whose tap `tap` falls inside [0, extent) along one axis. */
int64_t iob_axis_tap_outputs(int64_t extent, int64_t out, int64_t tap, int64_t stride, int64_t dil,
                             int64_t pad);

/* Number of (o, t) pairs along one axis whose position falls inside [0, extent). */
int64_t iob_axis_valid_taps(int64_t extent, int64_t out, int64_t taps, int64_t stride,
                            int64_t dil, int64_t pad);

/* Writes the canonical spec of a layer ("name=...,n=1,c=...,pad_top=..."), which parses back
 * to the same layer. Returns the length iob_layer_format would need (like snprintf). */
int iob_layer_format(const iob_layer *layer, char *buf, size_t size);

/* A growable list of layers, owned by the list. */
typedef struct iob_layer_list {
    iob_layer *items;
    size_t count, cap;
    char **warnings;   /* one line each, e.g. a declared output size that disagrees */
    size_t nwarnings;
} iob_layer_list;

void iob_layer_list_free(iob_layer_list *list);
iob_status iob_layer_list_push(iob_layer_list *list, const iob_layer *layer, iob_error *err);

/* Reads layers from a CSV file (header row of keys; the columns of ../shared/bench files are
 * accepted as they are) or a JSON file (an array of objects with the same keys); the format is
 * taken from the content (a file whose first non-blank character is '[' or '{' is JSON).
 * Appends to list. A declared output size (p, q columns) that disagrees with the shape adds a
 * warning to list->warnings naming the row and both values (the shape wins: the file's explicit
 * padding is kept). Errors name the file and the row or array index. */
iob_status iob_layers_read_file(const char *path, iob_layer_list *list, iob_error *err);
iob_status iob_layers_read_stream(FILE *fp, const char *label, iob_layer_list *list,
                                  iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
