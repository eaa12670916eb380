/* net_glue.h — the network's names for a program that does not know them:
 * net_name.h (the Makefile writes it with net_name.sh) defines NNC_NET as
 * the network's name, and NET(_forward) is then NAME_forward,
 * NET(_N_INPUTS) NAME_N_INPUTS, and so on.  In your own program, use the
 * names themselves. */
#ifndef NET_GLUE_H
#define NET_GLUE_H

#include "net.h"
#include "net_name.h"

#define NNC_CAT_(a, b) a##b
#define NNC_CAT(a, b) NNC_CAT_(a, b)
#define NET(suffix) NNC_CAT(NNC_NET, suffix)

#endif
