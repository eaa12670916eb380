/* parallel.c — the ranks of an MPI job (`mpirun -np N nnc train ...`):
 * data-parallel training, every rank a whole copy of the network, each
 * batch split across them and their gradients summed.
 *
 * Open MPI's library is opened at run time (dlopen), and only when nnc
 * was started by mpirun (OMPI_COMM_WORLD_SIZE is set): nnc alone starts
 * as fast as without it, and runs where Open MPI is not installed.  The
 * handful of calls used are looked up by name; the predefined handles
 * (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are Open MPI's global objects,
 * which its mpi.h names through macros, so they are looked up too (the
 * types come from mpi.h; the build needs its header, not its library).
 * NNC_MPI_LIBRARY names another build of Open MPI's library (default
 * libmpi.so.40, Debian's). */
#define _POSIX_C_SOURCE 200809L
#include "nnc_rt.h"

#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct RtPar {
    int rank, size;
    void *lib;
    MPI_Comm world;
    MPI_Datatype f32, f64, u64;
    MPI_Op sum, min, max;
    int (*init)(int *, char ***);
    int (*finalize)(void);
    int (*abort)(MPI_Comm, int);
    int (*comm_rank)(MPI_Comm, int *);
    int (*comm_size)(MPI_Comm, int *);
    int (*allreduce)(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
};

bool rt_par_launched(void)
{
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    return v && *v;
}

const char *rt_par_foreign_launcher(void)
{
    /* (not Slurm's SLURM_NTASKS: a batch script that runs one nnc has it too) */
    const char *v = getenv("PMI_SIZE");   /* MPICH's and Intel MPI's mpiexec (Hydra) */
    return !rt_par_launched() && v && strtol(v, NULL, 10) > 1 ? "PMI_SIZE" : NULL;
}

/* Symbol `name` of p->lib into *out (a function or an object's address). */
static bool sym(RtPar *p, const char *name, void *out, RtError *err)
{
    void *s = dlsym(p->lib, name);
    if (!s) {
        snprintf(err->msg, sizeof err->msg, "Open MPI's library has no '%s': %s", name, dlerror());
        return false;
    }
    memcpy(out, &s, sizeof s);
    return true;
}

RtPar *rt_par_start(RtError *err)
{
    RtPar *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    /* RTLD_GLOBAL: Open MPI's own components, which it opens in turn,
     * link against its symbols */
    const char *lib = getenv("NNC_MPI_LIBRARY");
    p->lib = dlopen(lib && *lib ? lib : "libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
    if (!p->lib) {
        snprintf(err->msg, sizeof err->msg, "started by mpirun, but Open MPI's library cannot be opened (%s); "
                 "Debian: apt-get install openmpi-bin (or name the library in NNC_MPI_LIBRARY)", dlerror());
        free(p);
        return NULL;
    }
    void *world = NULL, *f32 = NULL, *f64 = NULL, *u64 = NULL, *sum = NULL, *min = NULL, *max = NULL;
    bool ok = sym(p, "MPI_Init", &p->init, err) && sym(p, "MPI_Finalize", &p->finalize, err) &&
              sym(p, "MPI_Abort", &p->abort, err) && sym(p, "MPI_Comm_rank", &p->comm_rank, err) &&
              sym(p, "MPI_Comm_size", &p->comm_size, err) && sym(p, "MPI_Allreduce", &p->allreduce, err) &&
              sym(p, "ompi_mpi_comm_world", &world, err) && sym(p, "ompi_mpi_float", &f32, err) &&
              sym(p, "ompi_mpi_double", &f64, err) && sym(p, "ompi_mpi_uint64_t", &u64, err) &&
              sym(p, "ompi_mpi_op_sum", &sum, err) && sym(p, "ompi_mpi_op_min", &min, err) &&
              sym(p, "ompi_mpi_op_max", &max, err);
    if (ok) {
        p->world = (MPI_Comm)world;
        p->f32 = (MPI_Datatype)f32, p->f64 = (MPI_Datatype)f64, p->u64 = (MPI_Datatype)u64;
        p->sum = (MPI_Op)sum, p->min = (MPI_Op)min, p->max = (MPI_Op)max;
        ok = p->init(NULL, NULL) == MPI_SUCCESS && p->comm_rank(p->world, &p->rank) == MPI_SUCCESS &&
             p->comm_size(p->world, &p->size) == MPI_SUCCESS;
        if (!ok)
            snprintf(err->msg, sizeof err->msg, "MPI_Init failed");
    }
    if (!ok) {
        dlclose(p->lib);
        free(p);
        return NULL;
    }
    return p;
}

int rt_par_rank(const RtPar *p)
{
    return p ? p->rank : 0;
}

int rt_par_size(const RtPar *p)
{
    return p ? p->size : 1;
}

bool rt_par_sum_floats(const RtPar *p, float *x, int64_t n)
{
    enum { PIECE = 1 << 30 };   /* (a count is an int) */
    for (int64_t i = 0; p && p->size > 1 && i < n; i += PIECE) {
        int k = (int)(n - i < PIECE ? n - i : PIECE);
        if (p->allreduce(MPI_IN_PLACE, x + i, k, p->f32, p->sum, p->world) != MPI_SUCCESS)
            return false;
    }
    return true;
}

bool rt_par_sum_doubles(const RtPar *p, double *x, int n)
{
    return !p || p->size <= 1 || p->allreduce(MPI_IN_PLACE, x, n, p->f64, p->sum, p->world) == MPI_SUCCESS;
}

bool rt_par_same(const RtPar *p, const uint64_t *x, int n, int *first_differing)
{
    *first_differing = -1;
    if (!p || p->size <= 1)
        return true;
    uint64_t lo[16], hi[16];
    if (n > 16 || p->allreduce(x, lo, n, p->u64, p->min, p->world) != MPI_SUCCESS ||
        p->allreduce(x, hi, n, p->u64, p->max, p->world) != MPI_SUCCESS)
        return false;
    for (int i = 0; i < n && *first_differing < 0; i++)
        if (lo[i] != hi[i])
            *first_differing = i;
    return *first_differing < 0;
}

void rt_par_abort(RtPar *p, int status)
{
    fflush(NULL);
    p->abort(p->world, status);
}

void rt_par_end(RtPar *p)
{
    if (!p)
        return;
    fflush(NULL);
    p->finalize();
    free(p);   /* (the library stays open: Open MPI does not unload cleanly) */
}
