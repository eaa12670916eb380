/* dot_driver.c — prints emit_dot's graph of a .nn file (tests/report/run.sh).
 *   dot_driver FILE.nn > FILE.dot        exit 1 when the file is not valid */
#include "nnc.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: dot_driver FILE.nn\n");
        return 2;
    }
    Arena *arena = arena_new();
    Diag diag;
    diag_init(&diag, stderr);
    Source src;
    int status = 1;
    if (source_load(&src, argv[1], arena, &diag)) {
        Module *m = pipeline_module(&src, arena, &diag);
        if (m) {
            RtBuf b = {0};
            emit_dot(&b, m);
            if (!b.oom && b.data && fwrite(b.data, 1, b.len, stdout) == b.len)
                status = 0;
            rt_buf_free(&b);
        }
    }
    arena_free(arena);
    return status;
}
