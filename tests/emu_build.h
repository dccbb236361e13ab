/* emu_build.h - compiles a kernel file of gpu/kernels/ as C for the CPU emulation (tests only):
 * the file with tests/cuda_emu.h forced in front and a launch's macros, into a shared object
 * that the test then loads. Used by the tests that run the kernels themselves on the CPU
 * (test_winograd_emu.c, test_im2_emu.c). Needs a C compiler at run time (cc, or $CC). */
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

#endif
