/* parse_ctx.h — state shared by the lexer and the parser of one source. */
#ifndef NNC_PARSE_CTX_H
#define NNC_PARSE_CTX_H

#include "nnc.h"

typedef void *yyscan_t;

typedef struct ParseCtx {
    Arena *arena;
    Diag *diag;
    Program *prog;
    int line, col;               /* the lexer's position */
    const char *last_text;       /* text of the last word or number token */
    bool in_network;             /* between a block's '{' and '}' */
    Loc open_loc;                /* that block's keyword */
    const char *open_name;
    const char *open_kind;       /* "network" or "gan" */
} ParseCtx;

#endif
