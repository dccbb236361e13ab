/* nets.h - built-in networks: the convolution layers of well-known CNNs, named as in the
 * original network (torchvision module names where torchvision has the model).
 */
#ifndef IOBOUND_NETS_H
#define IOBOUND_NETS_H

#include <stdint.h>

#include "iobound/layer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iob_net_info {
    const char *name;        /* "resnet50" */
    const char *description; /* one line: source and input size */
    int input_size;          /* the input image side the layers assume (224, 299, 227) */
    /* published multiply-adds (G) of the whole network at batch 1: its convolutions plus its
     * fully-connected layers, as the torchvision model cards count them ("GFLOPS"); the tests
     * add the fully-connected MACs to the convolutions. 0 where nothing is published. */
    double published_conv_gmacs;
} iob_net_info;

int iob_net_count(void);
const iob_net_info *iob_net_info_at(int i);

/* Appends the convolution layers of network name at batch size batch (>= 1) to list, in
 * network order. Layers that repeat (ResNet blocks) appear once per occurrence. Fails with
 * IOB_EINVAL for an unknown name (the message lists the known ones) or a batch < 1. */
iob_status iob_net_layers(const char *name, int64_t batch, iob_layer_list *list, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
