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
    bool in_network;             /* between a network's '{' and '}' */
    Loc open_loc;                /* that network's opening '{' */
    const char *open_name;
} ParseCtx;

#endif
