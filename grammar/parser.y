/* parser.y — the grammar of the .nn language (pure bison, custom errors).
 *
 * The grammar knows the shape of a file, not the meaning of statements:
 *
 *   file     = { NEWLINE | network | gan }
 *   network  = "network" name { NEWLINE } "{" body "}"
 *   gan      = "gan" name { NEWLINE } "{" body "}"
 *   name     = WORD | "gan"
 *   body     = { [ stmt ] NEWLINE } [ stmt ]
 *   stmt     = WORD { arg }
 *   arg      = NUMBER | DIMS | WORD | WORD "(" [ value { "," value } ] ")"
 *            | WORD "=" value
 *   value    = NUMBER | DIMS | WORD
 *
 * Actions only build the AST (ast.c); check.c gives statements their
 * meaning.  A syntax error inside a block skips to the end of the line, so
 * several errors are reported in one run. */
%code requires {
#include "nnc.h"
#include "parse_ctx.h"
}

%code provides {
int nnc_yylex(NNC_YYSTYPE *lval, Loc *lloc, yyscan_t scanner);
}

%code {
#include <string.h>

int nnc_yylex_init_extra(ParseCtx *extra, yyscan_t *scanner);
int nnc_yylex_destroy(yyscan_t scanner);
void *nnc_yy_scan_bytes(const char *bytes, int len, yyscan_t scanner);

static void nnc_yyerror(Loc *loc, yyscan_t scanner, ParseCtx *ctx, const char *msg);
}

%define api.pure full
%define api.prefix {nnc_yy}
%define api.location.type {Loc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {ParseCtx *ctx}

%union {
    char *str;
    Arg *arg;
    Stmt *stmt;
}

%token NETWORK "'network'"
%token <str> GAN "'gan'"
%token <str> WORD "word" NUMBER "number" DIMS "dimensions"
%token NEWLINE "end of line"
%type <arg> args arg value values
%type <stmt> stmt lines body
%type <str> name

%%

file
    : %empty
    | file NEWLINE
    | file network
    | file gan
    | file error NEWLINE    { yyerrok; }
    ;

newlines
    : %empty
    | newlines NEWLINE
    ;

network
    : NETWORK name newlines '{'
        { ctx->in_network = true; ctx->open_loc = @1; ctx->open_name = $2; ctx->open_kind = "network"; }
      body '}'
        {
            NetDecl *n = ast_net(ctx->arena, $2, @2, $6, loc_span(@1, @7));
            n->next = ctx->prog->nets;     /* reversed below */
            ctx->prog->nets = n;
            ctx->in_network = false;
        }
    ;
gan
    : GAN name newlines '{'
        { ctx->in_network = true; ctx->open_loc = @1; ctx->open_name = $2; ctx->open_kind = "gan"; }
      body '}'
        {
            NetDecl *g = ast_net(ctx->arena, $2, @2, $6, loc_span(@1, @7));
            g->next = ctx->prog->gans;     /* reversed below */
            ctx->prog->gans = g;
            ctx->in_network = false;
        }
    ;
name
    : WORD                  { $$ = $1; }
    | GAN                   { $$ = $1; }   /* 'gan' is a keyword only where a block starts */
    ;

body
    : lines                 { $$ = $1; }
    | lines stmt            { $$ = ast_append_stmt($1, $2); }
    ;

lines
    : %empty                { $$ = NULL; }
    | lines NEWLINE         { $$ = $1; }
    | lines stmt NEWLINE    { $$ = ast_append_stmt($1, $2); }
    | lines error NEWLINE   { $$ = $1; yyerrok; }
    ;

stmt
    : WORD args             { $$ = ast_stmt(ctx->arena, $1, @1, $2, $2 ? loc_span(@1, @2) : @1); }
    ;

args
    : %empty                { $$ = NULL; }
    | args arg              { $$ = ast_append_arg($1, $2); }
    ;

arg
    : NUMBER                { $$ = ast_number(ctx->arena, $1, @1); }
    | DIMS                  { $$ = ast_dims(ctx->arena, $1, @1); }
    | WORD                  { $$ = ast_word(ctx->arena, $1, @1); }
    | WORD '(' ')'          { $$ = ast_call(ctx->arena, $1, NULL, loc_span(@1, @3)); }
    | WORD '(' values ')'   { $$ = ast_call(ctx->arena, $1, $3, loc_span(@1, @4)); }
    | WORD '=' value        { $$ = ast_keyval(ctx->arena, $1, $3, loc_span(@1, @3)); }
    ;

values
    : value                 { $$ = ast_append_arg(NULL, $1); }
    | values ',' value      { $$ = ast_append_arg($1, $3); }
    ;

value
    : NUMBER                { $$ = ast_number(ctx->arena, $1, @1); }
    | DIMS                  { $$ = ast_dims(ctx->arena, $1, @1); }
    | WORD                  { $$ = ast_word(ctx->arena, $1, @1); }
    ;

%%

/* How a token is named in messages; `current` adds the text of the token
 * that was actually seen ("word 'dens'"). */
static const char *token_name(yysymbol_kind_t kind)
{
    switch (kind) {
    case YYSYMBOL_YYEOF: return "end of file";
    case YYSYMBOL_NETWORK: return "'network'";
    case YYSYMBOL_GAN: return "'gan'";
    case YYSYMBOL_WORD: return "a word";
    case YYSYMBOL_NUMBER: return "a number";
    case YYSYMBOL_DIMS: return "dimensions";
    case YYSYMBOL_NEWLINE: return "end of line";
    default: return yysymbol_name(kind);   /* '{' and the other characters */
    }
}

static int yyreport_syntax_error(const yypcontext_t *yyctx, yyscan_t scanner, ParseCtx *ctx)
{
    (void)scanner;
    yysymbol_kind_t seen = yypcontext_token(yyctx);
    Loc loc = *yypcontext_location(yyctx);
    if (seen == YYSYMBOL_YYEOF && ctx->in_network) {
        diag_at(ctx->diag, DIAG_ERROR, loc, "'}' expected at end of file (to close '%s %s' at line %d)",
                ctx->open_kind, ctx->open_name, ctx->open_loc.first_line);
        diag_at(ctx->diag, DIAG_NOTE, ctx->open_loc, "the block of '%s %s' starts here", ctx->open_kind,
                ctx->open_name);
        return 0;
    }
    char what[96];
    if (seen == YYSYMBOL_WORD || seen == YYSYMBOL_NUMBER || seen == YYSYMBOL_DIMS)
        snprintf(what, sizeof what, "%s '%.40s%s'", seen == YYSYMBOL_WORD ? "word" : seen == YYSYMBOL_NUMBER ? "number" : "dimensions", ctx->last_text,
                 strlen(ctx->last_text) > 40 ? "..." : "");
    else
        snprintf(what, sizeof what, "%s", token_name(seen));

    enum { N = 6 };
    yysymbol_kind_t expected[N];
    int n = yypcontext_expected_tokens(yyctx, expected, N);
    /* where a name goes, 'gan' is one too: "expected a word" says it */
    int word = -1, gan = -1;
    for (int i = 0; i < n; i++) {
        word = expected[i] == YYSYMBOL_WORD ? i : word;
        gan = expected[i] == YYSYMBOL_GAN ? i : gan;
    }
    if (word >= 0 && gan >= 0) {
        for (int i = gan; i + 1 < n; i++)
            expected[i] = expected[i + 1];
        n--;
    }
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        strcat(list, i == 0 ? "" : i == n - 1 ? " or " : ", ");
        strcat(list, token_name(expected[i]));
    }
    if (n > 0)
        diag_at(ctx->diag, DIAG_ERROR, loc, "unexpected %s; expected %s", what, list);
    else
        diag_at(ctx->diag, DIAG_ERROR, loc, "unexpected %s", what);
    if ((seen == YYSYMBOL_NETWORK || seen == YYSYMBOL_GAN) && ctx->in_network)
        diag_at(ctx->diag, DIAG_NOTE, ctx->open_loc, "%s cannot be nested; '%s %s' is still open here",
                strcmp(ctx->open_kind, "network") == 0 ? "networks" : "blocks", ctx->open_kind, ctx->open_name);
    return 0;
}

static void nnc_yyerror(Loc *loc, yyscan_t scanner, ParseCtx *ctx, const char *msg)
{
    (void)scanner;
    diag_at(ctx->diag, DIAG_ERROR, *loc, "%s", msg);
}

Program *parse_program(const Source *src, Arena *arena, Diag *diag)
{
    ParseCtx ctx = {0};
    ctx.arena = arena;
    ctx.diag = diag;
    ctx.prog = arena_alloc(arena, sizeof(Program));
    ctx.line = 1;
    ctx.col = 1;
    ctx.last_text = "";
    yyscan_t scanner;
    if (nnc_yylex_init_extra(&ctx, &scanner) != 0) {
        diag_plain(diag, DIAG_ERROR, "cannot start the lexer");
        return ctx.prog;
    }
    nnc_yy_scan_bytes(src->text, (int)src->len, scanner);
    nnc_yyparse(scanner, &ctx);
    nnc_yylex_destroy(scanner);
    /* Networks were prepended as they closed; restore file order. */
    NetDecl *rev = NULL;
    for (NetDecl *n = ctx.prog->nets, *next; n; n = next) {
        next = n->next;
        n->next = rev;
        rev = n;
    }
    ctx.prog->nets = rev;
    rev = NULL;
    for (NetDecl *g = ctx.prog->gans, *next; g; g = next) {
        next = g->next;
        g->next = rev;
        rev = g;
    }
    ctx.prog->gans = rev;
    return ctx.prog;
}
