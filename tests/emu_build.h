/* emu_build.h - compiles a kernel file of gpu/kernels/ as C for the CPU emulation (tests only):
 * the file with tests/cuda_emu.h forced in front and a launch's macros, into a shared object
 * that the test then loads, and runs a plan's launch there. Used by the tests that run the
 * kernels themselves on the CPU (test_winograd_emu.c, test_im2_emu.c, test_wino_nonfused.c).
 * Needs a C compiler at run time (cc, or $CC). Include after <cmocka.h> and iobound/plan.h. */
#ifndef IOB_TESTS_EMU_BUILD_H
#define IOB_TESTS_EMU_BUILD_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Compiles gpu/kernels/<file> with `defines` ("-DNAME=VALUE ...") into so_path and dlopens it;
 * fails the test with the compiler's status or dlerror(). */
static void *emu_build(const char *file, const char *defines, const char *so_path)
{
    char src[300], defs[4096];
    snprintf(src, sizeof src, "%s/gpu/kernels/%s", IOB_SOURCE_DIR, file);
    snprintf(defs, sizeof defs, "%s", defines);
    const char *cc = getenv("CC") ? getenv("CC") : "cc";
    char *argv[512];
    int n = 0;
    argv[n++] = (char *)cc;
    char *fixed[] = {"-std=c11", "-O1", "-g", "-fPIC", "-shared", "-ffp-contract=off",
                     "-fno-strict-aliasing", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas",
                     "-Wno-unused-parameter", "-Wno-unused-function",
                     "-D_POSIX_C_SOURCE=200809L", "-DIOB_CUDA_EMU", "-include",
                     IOB_SOURCE_DIR "/tests/cuda_emu.h",
#if defined(__SANITIZE_ADDRESS__)
                     "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
#endif
                     NULL};
    for (int i = 0; fixed[i]; i++)
        argv[n++] = fixed[i];
    for (char *save = NULL, *tok = strtok_r(defs, " ", &save); tok && n < 500;
         tok = strtok_r(NULL, " ", &save))
        argv[n++] = tok;
    argv[n++] = "-x";
    argv[n++] = "c";
    argv[n++] = src;
    argv[n++] = "-o";
    argv[n++] = (char *)so_path;
    argv[n++] = "-lpthread";
    argv[n++] = "-lm";
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execvp(cc, argv);
        _exit(127);
    }
    int status;
    assert_true(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        fail_msg("compiling %s for the CPU failed (status %d): %s", file, status, defines);
    void *lib = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        fail_msg("dlopen: %s", dlerror());
    return lib;
}

/* What the emulated library exports (tests/cuda_emu.h) */
typedef int (*emu_run_fn)(void (*)(void *), void *, const unsigned[3], unsigned, size_t,
                          const char **);
typedef struct emu_access {
    int launch;
    uint64_t block;
    unsigned stage;
    int write;
    const void *addr;
} emu_access; /* = iob_emu_access */
typedef struct emu_counts {
    uint64_t lds_bytes, sts_bytes, cp_async_bytes, ffma, fmul, fadd;
} emu_counts; /* = iob_emu_counts */

/* The folder of a test's compiled kernels: emu_dir_open(name) in the group's setup,
 * emu_dir_close() in its teardown; emu_build_next compiles into it (k0.so, k1.so, ...). */
static char emu_dir[256];
static int emu_nbuilt;

static int emu_dir_open(const char *name)
{
    snprintf(emu_dir, sizeof emu_dir, "/tmp/iob_%s_XXXXXX", name);
    return mkdtemp(emu_dir) ? 0 : -1;
}

static void emu_dir_close(void)
{
    char so[300];
    for (int i = 0; i < emu_nbuilt; i++) {
        snprintf(so, sizeof so, "%s/k%d.so", emu_dir, i);
        unlink(so);
    }
    rmdir(emu_dir);
}

static void *emu_build_next(const char *file, const char *defines)
{
    char so[300];
    snprintf(so, sizeof so, "%s/k%d.so", emu_dir, emu_nbuilt++);
    return emu_build(file, defines, so);
}

typedef struct emu_call {
    const iob_launch *l;
    void *fn;
    float *const *bufs;
} emu_call;

static void emu_call_body(void *p)
{
    const emu_call *c = p;
    float *a[3];
    for (int i = 0; i < c->l->nargs && i < 3; i++)
        a[i] = c->bufs[c->l->args[i].buf];
    /* every kernel takes its inputs const and writes its last argument */
    if (c->l->nargs == 3)
        ((void (*)(const float *, const float *, float *))c->fn)(a[0], a[1], a[2]);
    else
        ((void (*)(const float *, float *))c->fn)(a[0], a[1]);
}

/* Runs launch l (2 or 3 buffer arguments: bufs[l->args[i].buf]) with lib on the CPU, with its
 * grid, block and shared memory; fails the test with the emulator's reason. */
static void emu_launch(void *lib, const iob_launch *l, float *const bufs[6])
{
    emu_run_fn run = (emu_run_fn)dlsym(lib, "iob_emu_run");
    emu_call c = {l, dlsym(lib, l->entry), bufs};
    assert_non_null(run);
    assert_non_null(c.fn);
    assert_true(l->nargs == 2 || l->nargs == 3);
    for (int i = 0; i < l->nargs; i++)
        assert_int_equal(l->args[i].kind, IOB_ARG_BUF);
    const char *why = NULL;
    if (run(emu_call_body, &c, l->grid, l->block[0], (size_t)l->smem_bytes, &why))
        fail_msg("%s: %s", l->entry, why);
}

#endif
