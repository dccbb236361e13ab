/* hand_values.h - the bounds of docs/results/bounds-hand-checked.md, computed by the independent
 * Python implementation docs/bounds-check.py (integer t, exact maximum over t for one SM):
 *     python3 docs/bounds-check.py --md docs/results/bounds-hand-checked.md
 * Shared by tests/test_bound_hand.c (ops, rho, compulsory, P-SM values) and
 * tests/test_bound_regressions.c (one-SM values). Elements; S and P per row. */
#ifndef IOB_TESTS_HAND_VALUES_H
#define IOB_TESTS_HAND_VALUES_H

typedef struct hand_row {
    const char *name;
    const char *spec;          /* a layer spec, or NULL for a GEMM */
    unsigned long long gemm[3]; /* m, n, k when spec is NULL */
    double S;
    int P;
    double ops, rho, compulsory;
    double reuse, bound;         /* one SM */
    double reuse_gpu, bound_gpu; /* P SMs, total */
} hand_row;

static const hand_row hand_rows[] = {
    {"resnet50 layer1.0.conv2, batch 1", "n=1,c=64,h=56,k=64,r=3,pad=1", {0, 0, 0}, 123904, 132,
     112869376, 9, 438272, 428771, 438272, 428771.555556, 438272.000000},
    {"resnet50 layer1.0.conv2, batch 32", "n=32,c=64,h=56,k=64,r=3,pad=1", {0, 0, 0}, 123904,
     132, 3611820032, 9, 12881920, 12577905, 12881920, 12577905.777778, 12881920.000000},
    {"vgg16 conv3_2, batch 32", "n=32,c=256,h=56,k=256,r=3,pad=1", {0, 0, 0}, 123904, 132,
     57789120512, 9, 51970048, 109561760, 109561760, 99484355.359599, 99484355.359599},
    {"resnet50 layer3.0.conv3 (1x1), batch 32", "n=32,c=256,h=14,k=1024,r=1", {0, 0, 0}, 123904,
     132, 1644167168, 1, 8290304, 9939321, 9939321, 9114338.756088, 9114338.756088},
    {"resnet50 conv1 (7x7 /2), batch 32", "n=32,c=3,h=224,k=64,r=7,stride=2,pad=3", {0, 0, 0},
     123904, 132, 3718864896, 16, 30516416, 28939512, 30516416, 28939512.653061, 30516416.000000},
    {"depthwise 3x3, batch 32", "n=32,c=256,h=28,k=256,r=3,pad=1,groups=256", {0, 0, 0}, 123904,
     132, 55083008, 9, 12847360, 12242864, 12847360, 12242864.036281, 12847360.000000},
    {"dilated strided 3x3, batch 8", "n=8,c=128,h=33,k=128,r=3,stride=2,dilation=2,pad=2",
     {0, 0, 0}, 123904, 132, 314703872, 9, 739328, 713058, 739328, 693816.888889, 739328.000000},
    {"GEMM 2048^3 (Smith anchor)", 0, {2048, 2048, 2048}, 4096, 1, 8589934592, 1, 12582912,
     268438209, 268438209, 268430996.989732, 268430996.989732},
    {"GEMM 1024 x 6272 x 256", 0, {1024, 6272, 256}, 123904, 132, 1644167168, 1, 8290304,
     9939321, 9939321, 9114338.756088, 9114338.756088},
};

#endif
