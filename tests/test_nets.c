/* test_nets.c - built-in networks: total multiply-adds against the published figures, layer
 * counts, exact shapes of chosen layers (first, strided, depthwise, asymmetric), channel chains,
 * unique names, batch scaling, and the rejection of an unknown name or a batch below 1.
 *
 * Published totals: torchvision model cards, "GFLOPS" row (= multiply-adds of the convolutions
 * and the fully-connected layers at batch 1), e.g.
 * https://pytorch.org/vision/stable/models/generated/torchvision.models.inception_v3.html, which
 * is the "_ops" meta field of the IMAGENET1K_V1 weights in torchvision/models/{resnet,vgg,alexnet,
 * inception,mobilenetv2}.py: resnet18 1.814, resnet50 4.089, vgg16 15.47, alexnet 0.714,
 * inception_v3 5.713, mobilenet_v2 0.301.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/nets.h"

/* Every network with a published figure, its fully-connected layers (in x out, from the
 * torchvision classifier) and its convolution count (torchvision named_modules, Conv2d only). */
static const struct {
    const char *name;
    double published_gmacs;
    uint64_t fc_macs;
    size_t convs;
} published[] = {
    {"resnet18", 1.814, 512ULL * 1000, 20},        /* fc 512x1000; 1 + 8*2 + 3 downsample */
    {"resnet50", 4.089, 2048ULL * 1000, 53},       /* fc 2048x1000; 1 + 16*3 + 4 downsample */
    {"vgg16", 15.47, 25088ULL * 4096 + 4096ULL * 4096 + 4096ULL * 1000, 13}, /* 512*7*7 in */
    {"alexnet", 0.714, 9216ULL * 4096 + 4096ULL * 4096 + 4096ULL * 1000, 5}, /* 256*6*6 in */
    {"inception-v3", 5.713, 2048ULL * 1000, 94},   /* fc 2048x1000; AuxLogits excluded */
    {"mobilenet-v2", 0.301, 1280ULL * 1000, 52},   /* classifier.1 1280x1000; 1+2+16*3+1 */
};
#define NPUB (sizeof published / sizeof published[0])

static iob_layer_list load(const char *name, int64_t batch)
{
    iob_layer_list list = {0};
    iob_error err = {0};
    if (iob_net_layers(name, batch, &list, &err))
        fail_msg("%s batch %lld: %s", name, (long long)batch, err.msg);
    return list;
}

static uint64_t total_macs(const iob_layer_list *list)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < list->count; i++) {
        iob_layer_counts c;
        iob_error err = {0};
        if (iob_layer_counts_get(&list->items[i], &c, &err))
            fail_msg("%s: %s", list->items[i].name, err.msg);
        sum += c.macs;
    }
    return sum;
}

static const iob_layer *find(const iob_layer_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (!strcmp(list->items[i].name, name))
            return &list->items[i];
    fail_msg("no layer named '%s'", name);
    return NULL;
}

static const iob_net_info *info_of(const char *name)
{
    for (int i = 0; i < iob_net_count(); i++)
        if (!strcmp(iob_net_info_at(i)->name, name))
            return iob_net_info_at(i);
    fail_msg("no network '%s' in the info table", name);
    return NULL;
}

/* The expected shape of one layer: input c x h x w, k filters r x s, stride, padding
 * (top = bottom = pad_h, left = right = pad_w), groups, output p x q. */
typedef struct shape {
    const char *net, *layer;
    int64_t c, h, w, k, r, s, stride, pad_h, pad_w, groups, p, q;
} shape;

static void test_published_totals(void **state)
{
    (void)state;
    for (size_t i = 0; i < NPUB; i++) {
        iob_layer_list list = load(published[i].name, 1);
        double total = (double)(total_macs(&list) + published[i].fc_macs) / 1e9;
        double rel = fabs(total - published[i].published_gmacs) / published[i].published_gmacs;
        if (rel > 0.01)
            fail_msg("%s: %.4f GMACs (conv + fc) vs published %.3f (%.2f%%)", published[i].name,
                     total, published[i].published_gmacs, 100 * rel);
        /* the table in nets.c carries the same published figure */
        assert_true(info_of(published[i].name)->published_conv_gmacs ==
                    published[i].published_gmacs);
        iob_layer_list_free(&list);
    }
}

/* AlexNet by hand: 64*55^2*3*11^2 + 192*27^2*64*5^2 + 13^2*9*(384*192 + 256*384 + 256*256). */
static void test_alexnet_exact_macs(void **state)
{
    (void)state;
    iob_layer_list list = load("alexnet", 1);
    assert_int_equal(total_macs(&list), 70276800ULL + 223948800ULL + 112140288ULL +
                                            149520384ULL + 99680256ULL);
    iob_layer_list_free(&list);
}

static void test_layer_counts(void **state)
{
    (void)state;
    for (size_t i = 0; i < NPUB; i++) {
        iob_layer_list list = load(published[i].name, 1);
        if (list.count != published[i].convs)
            fail_msg("%s: %zu convolutions, expected %zu", published[i].name, list.count,
                     published[i].convs);
        iob_layer_list_free(&list);
    }
    iob_layer_list list = load("im2win12", 1);
    assert_int_equal(list.count, 12);
    iob_layer_list_free(&list);

    /* MobileNet-V2: one depthwise 3x3 per inverted residual block (features.1 .. 17) */
    list = load("mobilenet-v2", 1);
    int depthwise = 0;
    for (size_t i = 0; i < list.count; i++)
        if (list.items[i].groups > 1) {
            assert_int_equal(list.items[i].groups, list.items[i].c);
            assert_int_equal(list.items[i].groups, list.items[i].k);
            depthwise++;
        }
    assert_int_equal(depthwise, 17);
    iob_layer_list_free(&list);

    /* Inception-v3: 6 factorised 7x7 convolutions in each of Mixed_6b..6e, 2 in Mixed_7a, 4 in
     * each of Mixed_7b/7c (1x3 and 3x1) */
    list = load("inception-v3", 1);
    int asym = 0;
    for (size_t i = 0; i < list.count; i++)
        asym += list.items[i].r != list.items[i].s;
    assert_int_equal(asym, 4 * 6 + 2 + 2 * 4);
    iob_layer_list_free(&list);
}

static void test_shapes(void **state)
{
    (void)state;
    static const shape t[] = {
        /* net, layer, c, h, w, k, r, s, stride, pad_h, pad_w, groups, p, q */
        {"resnet18", "conv1", 3, 224, 224, 64, 7, 7, 2, 3, 3, 1, 112, 112},
        {"resnet18", "layer3.0.downsample.0", 128, 28, 28, 256, 1, 1, 2, 0, 0, 1, 14, 14},
        {"resnet18", "layer4.1.conv2", 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 7, 7},
        {"resnet50", "conv1", 3, 224, 224, 64, 7, 7, 2, 3, 3, 1, 112, 112},
        {"resnet50", "layer2.0.conv2", 128, 56, 56, 128, 3, 3, 2, 1, 1, 1, 28, 28},
        {"resnet50", "layer4.0.downsample.0", 1024, 14, 14, 2048, 1, 1, 2, 0, 0, 1, 7, 7},
        {"resnet50", "layer4.2.conv3", 512, 7, 7, 2048, 1, 1, 1, 0, 0, 1, 7, 7},
        {"vgg16", "features.0", 3, 224, 224, 64, 3, 3, 1, 1, 1, 1, 224, 224},
        {"vgg16", "features.5", 64, 112, 112, 128, 3, 3, 1, 1, 1, 1, 112, 112},
        {"vgg16", "features.17", 256, 28, 28, 512, 3, 3, 1, 1, 1, 1, 28, 28},
        {"vgg16", "features.28", 512, 14, 14, 512, 3, 3, 1, 1, 1, 1, 14, 14},
        {"alexnet", "features.0", 3, 224, 224, 64, 11, 11, 4, 2, 2, 1, 55, 55},
        {"alexnet", "features.3", 64, 27, 27, 192, 5, 5, 1, 2, 2, 1, 27, 27},
        {"alexnet", "features.10", 256, 13, 13, 256, 3, 3, 1, 1, 1, 1, 13, 13},
        {"mobilenet-v2", "features.0.0", 3, 224, 224, 32, 3, 3, 2, 1, 1, 1, 112, 112},
        {"mobilenet-v2", "features.1.conv.0.0", 32, 112, 112, 32, 3, 3, 1, 1, 1, 32, 112, 112},
        {"mobilenet-v2", "features.1.conv.1", 32, 112, 112, 16, 1, 1, 1, 0, 0, 1, 112, 112},
        {"mobilenet-v2", "features.2.conv.0.0", 16, 112, 112, 96, 1, 1, 1, 0, 0, 1, 112, 112},
        {"mobilenet-v2", "features.2.conv.1.0", 96, 112, 112, 96, 3, 3, 2, 1, 1, 96, 56, 56},
        {"mobilenet-v2", "features.2.conv.2", 96, 56, 56, 24, 1, 1, 1, 0, 0, 1, 56, 56},
        {"mobilenet-v2", "features.14.conv.1.0", 576, 14, 14, 576, 3, 3, 2, 1, 1, 576, 7, 7},
        {"mobilenet-v2", "features.17.conv.2", 960, 7, 7, 320, 1, 1, 1, 0, 0, 1, 7, 7},
        {"mobilenet-v2", "features.18.0", 320, 7, 7, 1280, 1, 1, 1, 0, 0, 1, 7, 7},
        {"inception-v3", "Conv2d_1a_3x3.conv", 3, 299, 299, 32, 3, 3, 2, 0, 0, 1, 149, 149},
        {"inception-v3", "Conv2d_4a_3x3.conv", 80, 73, 73, 192, 3, 3, 1, 0, 0, 1, 71, 71},
        {"inception-v3", "Mixed_5b.branch5x5_2.conv", 48, 35, 35, 64, 5, 5, 1, 2, 2, 1, 35, 35},
        {"inception-v3", "Mixed_6a.branch3x3.conv", 288, 35, 35, 384, 3, 3, 2, 0, 0, 1, 17, 17},
        {"inception-v3", "Mixed_6b.branch7x7_2.conv", 128, 17, 17, 128, 1, 7, 1, 0, 3, 1, 17, 17},
        {"inception-v3", "Mixed_6e.branch7x7dbl_2.conv", 192, 17, 17, 192, 7, 1, 1, 3, 0, 1, 17,
         17},
        {"inception-v3", "Mixed_7a.branch3x3_2.conv", 192, 17, 17, 320, 3, 3, 2, 0, 0, 1, 8, 8},
        {"inception-v3", "Mixed_7c.branch3x3dbl_3a.conv", 384, 8, 8, 384, 1, 3, 1, 0, 1, 1, 8, 8},
        {"inception-v3", "Mixed_7c.branch3x3_2b.conv", 384, 8, 8, 384, 3, 1, 1, 1, 0, 1, 8, 8},
        {"im2win12", "conv1", 3, 227, 227, 96, 11, 11, 4, 0, 0, 1, 55, 55},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        iob_layer_list list = load(t[i].net, 1);
        const iob_layer *L = find(&list, t[i].layer);
        int64_t got[] = {L->c, L->h, L->w, L->k, L->r, L->s, L->stride_h, L->pad_top,
                         L->pad_left, L->groups, L->p, L->q};
        int64_t want[] = {t[i].c, t[i].h, t[i].w, t[i].k, t[i].r, t[i].s, t[i].stride,
                          t[i].pad_h, t[i].pad_w, t[i].groups, t[i].p, t[i].q};
        static const char *what[] = {"c", "h", "w", "k", "r", "s", "stride", "pad_h", "pad_w",
                                     "groups", "p", "q"};
        for (size_t j = 0; j < sizeof got / sizeof got[0]; j++)
            if (got[j] != want[j])
                fail_msg("%s %s: %s = %lld, expected %lld", t[i].net, t[i].layer, what[j],
                         (long long)got[j], (long long)want[j]);
        /* symmetric padding and stride on both axes, batch 1, no dilation */
        assert_int_equal(L->stride_w, L->stride_h);
        assert_int_equal(L->pad_bottom, L->pad_top);
        assert_int_equal(L->pad_right, L->pad_left);
        assert_int_equal(L->dil_h * L->dil_w, 1);
        assert_int_equal(L->n, 1);
        iob_layer_list_free(&list);
    }
}

/* Sequential networks: each convolution reads what the one before wrote (channels), and
 * MobileNet-V2 has no pooling between its convolutions, so the sizes chain too. */
static void test_sequential_chains(void **state)
{
    (void)state;
    static const char *nets[] = {"vgg16", "alexnet", "mobilenet-v2"};
    for (int n = 0; n < 3; n++) {
        iob_layer_list list = load(nets[n], 1);
        for (size_t i = 1; i < list.count; i++) {
            const iob_layer *a = &list.items[i - 1], *b = &list.items[i];
            if (b->c != a->k)
                fail_msg("%s: %s reads %lld channels, %s writes %lld", nets[n], b->name,
                         (long long)b->c, a->name, (long long)a->k);
            if (n == 2)
                assert_int_equal(b->h, a->p);
            else /* a 2x2/2 (VGG) or 3x3/2 (AlexNet) max-pool may sit between */
                assert_true(b->h == a->p || b->h == (n == 0 ? a->p / 2 : (a->p - 3) / 2 + 1));
        }
        /* the classifier's input: 512*7*7 (VGG, after the last pool), 256*6*6 (AlexNet,
         * after the pool), 1280 (MobileNet-V2, global pooling) */
        const iob_layer *last = &list.items[list.count - 1];
        static const int64_t last_k[] = {512, 256, 1280}, last_p[] = {14, 13, 7};
        assert_int_equal(last->k, last_k[n]);
        assert_int_equal(last->p, last_p[n]);
        iob_layer_list_free(&list);
    }
}

/* Inception-v3: the channels a module concatenates (the last convolution of every branch, plus
 * the max-pooled input in Mixed_6a and Mixed_7a) are the channels the next module reads, and
 * every branch ends at the same size. The leaf names are those of torchvision's forward(). */
static void test_inception_concat(void **state)
{
    (void)state;
    static const char *a[] = {"branch1x1", "branch5x5_2", "branch3x3dbl_3", "branch_pool", 0};
    static const char *b[] = {"branch3x3", "branch3x3dbl_3", 0};
    static const char *c[] = {"branch1x1", "branch7x7_3", "branch7x7dbl_5", "branch_pool", 0};
    static const char *d[] = {"branch3x3_2", "branch7x7x3_4", 0};
    static const char *e[] = {"branch1x1",       "branch3x3_2a",    "branch3x3_2b",
                              "branch3x3dbl_3a", "branch3x3dbl_3b", "branch_pool", 0};
    static const struct {
        const char *module, *first; /* the module and its first convolution's branch */
        const char **leaves;
        int pooled_input; /* 1: the max-pooled input is concatenated too */
        int64_t out;      /* channels after the module (torchvision's comments) */
    } m[] = {
        {"Mixed_5b", "branch1x1", a, 0, 256},   {"Mixed_5c", "branch1x1", a, 0, 288},
        {"Mixed_5d", "branch1x1", a, 0, 288},   {"Mixed_6a", "branch3x3", b, 1, 768},
        {"Mixed_6b", "branch1x1", c, 0, 768},   {"Mixed_6c", "branch1x1", c, 0, 768},
        {"Mixed_6d", "branch1x1", c, 0, 768},   {"Mixed_6e", "branch1x1", c, 0, 768},
        {"Mixed_7a", "branch3x3_1", d, 1, 1280}, {"Mixed_7b", "branch1x1", e, 0, 2048},
        {"Mixed_7c", "branch1x1", e, 0, 2048},
    };
    iob_layer_list list = load("inception-v3", 1);
    char name[96];
    int64_t prev_out = 192, prev_side = 35; /* after Conv2d_4a_3x3 and the max-pool */
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        snprintf(name, sizeof name, "%s.%s.conv", m[i].module, m[i].first);
        const iob_layer *first = find(&list, name);
        assert_int_equal(first->c, prev_out);
        assert_int_equal(first->h, prev_side);
        int64_t out = m[i].pooled_input ? first->c : 0, side = -1;
        for (int j = 0; m[i].leaves[j]; j++) {
            snprintf(name, sizeof name, "%s.%s.conv", m[i].module, m[i].leaves[j]);
            const iob_layer *L = find(&list, name);
            out += L->k;
            if (side < 0)
                side = L->p;
            assert_int_equal(L->p, side);
            assert_int_equal(L->q, side);
        }
        if (m[i].pooled_input) /* max_pool2d(3, stride 2) of the input */
            assert_int_equal((first->h - 3) / 2 + 1, side);
        if (out != m[i].out)
            fail_msg("%s concatenates %lld channels, expected %lld", m[i].module,
                     (long long)out, (long long)m[i].out);
        prev_out = out;
        prev_side = side;
    }
    assert_int_equal(prev_out, 2048); /* fc in_features */
    assert_int_equal(prev_side, 8);
    iob_layer_list_free(&list);
}

static void test_unique_names(void **state)
{
    (void)state;
    for (int n = 0; n < iob_net_count(); n++) {
        const char *net = iob_net_info_at(n)->name;
        iob_layer_list list = load(net, 1);
        assert_true(list.count > 0);
        for (size_t i = 0; i < list.count; i++) {
            assert_true(list.items[i].name[0] != '\0');
            for (size_t j = i + 1; j < list.count; j++)
                if (!strcmp(list.items[i].name, list.items[j].name))
                    fail_msg("%s: layers %zu and %zu are both named '%s'", net, i, j,
                             list.items[i].name);
        }
        iob_layer_list_free(&list);
    }
}

static void test_batch_scaling(void **state)
{
    (void)state;
    for (int n = 0; n < iob_net_count(); n++) {
        const char *net = iob_net_info_at(n)->name;
        iob_layer_list one = load(net, 1), eight = load(net, 8);
        assert_int_equal(eight.count, one.count);
        for (size_t i = 0; i < eight.count; i++) {
            assert_int_equal(eight.items[i].n, 8);
            assert_string_equal(eight.items[i].name, one.items[i].name);
        }
        assert_int_equal(total_macs(&eight), 8 * total_macs(&one));
        iob_layer_list_free(&one);
        iob_layer_list_free(&eight);
    }
}

static void test_info_table(void **state)
{
    (void)state;
    assert_int_equal(iob_net_count(), 7);
    assert_null(iob_net_info_at(-1));
    assert_null(iob_net_info_at(iob_net_count()));
    for (int n = 0; n < iob_net_count(); n++) {
        const iob_net_info *ni = iob_net_info_at(n);
        assert_non_null(ni->description);
        assert_true(strlen(ni->description) > 0);
    }
    assert_int_equal(info_of("inception-v3")->input_size, 299);
    assert_int_equal(info_of("mobilenet-v2")->input_size, 224);
    assert_non_null(strstr(info_of("inception-v3")->description, "AuxLogits"));
    assert_true(info_of("im2win12")->published_conv_gmacs == 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    iob_layer_list list = {0};
    iob_error err = {0};
    assert_int_equal(iob_net_layers("lenet", 1, &list, &err), IOB_EINVAL);
    assert_string_equal(err.msg, "unknown network 'lenet' (known: resnet18, resnet50, vgg16, "
                                 "alexnet, inception-v3, mobilenet-v2, im2win12)");
    assert_int_equal(list.count, 0);
    /* names are exact: no case folding, no torchvision spelling with an underscore */
    assert_int_equal(iob_net_layers("inception_v3", 1, &list, &err), IOB_EINVAL);
    assert_int_equal(iob_net_layers("VGG16", 1, &list, &err), IOB_EINVAL);
    assert_int_equal(iob_net_layers("", 1, &list, &err), IOB_EINVAL);
    assert_int_equal(iob_net_layers(NULL, 1, &list, &err), IOB_EINVAL);
    assert_int_equal(list.count, 0);

    assert_int_equal(iob_net_layers("resnet50", 0, &list, &err), IOB_EINVAL);
    assert_string_equal(err.msg, "--batch 0: must be at least 1");
    assert_int_equal(iob_net_layers("vgg16", -3, &list, &err), IOB_EINVAL);
    assert_string_equal(err.msg, "--batch -3: must be at least 1");
    assert_int_equal(iob_net_layers("alexnet", IOB_DIM_MAX + 1, &list, &err), IOB_EINVAL);
    assert_int_equal(list.count, 0);
    /* a NULL error record is allowed */
    assert_int_equal(iob_net_layers("lenet", 1, &list, NULL), IOB_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_totals), cmocka_unit_test(test_alexnet_exact_macs),
        cmocka_unit_test(test_layer_counts),     cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_sequential_chains), cmocka_unit_test(test_inception_concat),
        cmocka_unit_test(test_unique_names),     cmocka_unit_test(test_batch_scaling),
        cmocka_unit_test(test_info_table),       cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
