#!/bin/sh
# net_name.sh NET.h [NAME] — writes net_name.h, which tells the programs of
# this folder (through net_glue.h) the name of the network of NET.h to run:
#     #define NNC_NET NAME
#     #define NNC_NAME "NAME"
# Without NAME, NET.h must declare one network (nnc's inference-only C
# always does); with it, NAME must be one of them.
set -eu
h=$1
names=$(sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\)_N_INPUTS .*/\1/p' "$h")
if [ -z "$names" ]; then
    echo "net_name.sh: $h declares no network (no NAME_N_INPUTS)" >&2
    exit 1
fi
if [ $# -ge 2 ] && [ -n "$2" ]; then
    name=$2
    if ! printf '%s\n' $names | grep -qx "$name"; then
        echo "net_name.sh: $h has no network '$name'; it has: $(echo $names)" >&2
        exit 1
    fi
elif [ "$(printf '%s\n' $names | wc -l)" -gt 1 ]; then
    echo "net_name.sh: $h declares several networks ($(echo $names)): say which with NETWORK=NAME" >&2
    exit 1
else
    name=$names
fi
printf '/* net_name.h: written by net_name.sh from %s; the network to run. */\n' "$(basename "$h")"
printf '#define NNC_NET %s\n#define NNC_NAME "%s"\n' "$name" "$name"
