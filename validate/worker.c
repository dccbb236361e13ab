/* worker.c - the measurement worker process of a sweep (see worker.h for why it exists).
 *
 * Protocol over an AF_UNIX stream socket pair, fixed-size messages of plain structs (parent and
 * child are the same program, forked, so the layouts agree):
 *   child -> parent  hello     once, after the GPU probe: status, message, the device machine
 *   parent -> child  request   measure a config, or cuDNN's baselines for a layer
 *   child -> parent  response  status, message, measurement or cuDNN times
 * The parent sends with MSG_NOSIGNAL, so a dead child is an error code and not a SIGPIPE.
 *
 * The child runs OpenMP code, if any, on one thread: libgomp's thread pool does not survive
 * fork() (a child that opens a parallel region after the parent used one waits forever for
 * threads it does not have; checked with GCC 12 libgomp), and one thread avoids it.
 */
#include "validate/worker.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <omp.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

enum { REQ_MEASURE = 1, REQ_CUDNN = 2 };

typedef struct hello_msg {
    int status;
    char msg[IOB_ERROR_MSG_MAX];
    iob_machine machine;
} hello_msg;

typedef struct request_msg {
    int type;
    int has_cfg;
    iob_layer layer;
    iob_config cfg;
    iob_run_opts opts;
    int want_machine;
} request_msg;

typedef struct response_msg {
    int status;
    char msg[IOB_ERROR_MSG_MAX];
    iob_measurement meas;
    iob_cudnn_best cudnn;
} response_msg;

struct iob_worker {
    iob_sweep_hooks hooks;
    int close_fd;
    pid_t pid;       /* 0: no child */
    int sock;        /* parent's end */
    int started;     /* children started */
    hello_msg hello;
};

/* ---- byte transport ------------------------------------------------------------------------- */

static int send_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Blocking read of exactly n bytes (the child's side). -1 on EOF or error. */
static int recv_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The parent's read: exactly n bytes within timeout_s seconds, polling in slices so that
 * *stop is seen within 0.1 s. Returns 0, -1 (EOF or error), -2 (timeout), -3 (stopped). */
static int recv_timed(int fd, void *buf, size_t n, double timeout_s, volatile sig_atomic_t *stop)
{
    char *p = buf;
    double deadline = now_s() + timeout_s;
    while (n) {
        if (stop && *stop)
            return -3;
        double left = deadline - now_s();
        if (left <= 0)
            return -2;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ms = left > 0.1 ? 100 : (int)(left * 1000) + 1;
        int pr = poll(&pfd, 1, ms);
        if (pr < 0 && errno != EINTR)
            return -1;
        if (pr <= 0)
            continue;
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* ---- the child ------------------------------------------------------------------------------ */

static void copy_err(char *dst, const iob_error *e, iob_status st)
{
    snprintf(dst, IOB_ERROR_MSG_MAX, "%s", e->msg[0] ? e->msg : iob_status_name(st));
}

static void child_main(const iob_sweep_hooks *h, int fd, int want_machine)
{
    omp_set_num_threads(1);
    hello_msg hello;
    memset(&hello, 0, sizeof hello);
    iob_error e = {0};
    hello.status = h->gpu_probe(want_machine ? &hello.machine : NULL, &e);
    if (hello.status)
        copy_err(hello.msg, &e, (iob_status)hello.status);
    if (send_all(fd, &hello, sizeof hello) || hello.status)
        _exit(0);
    request_msg *req = malloc(sizeof *req);
    response_msg *resp = malloc(sizeof *resp);
    if (!req || !resp)
        _exit(3);
    while (recv_all(fd, req, sizeof *req) == 0) {
        memset(resp, 0, sizeof *resp);
        iob_error_clear(&e);
        iob_status st;
        if (req->type == REQ_CUDNN)
            st = h->cudnn(&req->layer, &req->opts, &resp->cudnn, &e);
        else
            st = h->measure(&req->layer, req->has_cfg ? &req->cfg : NULL, &req->opts,
                            &resp->meas, &e);
        resp->status = st;
        if (st)
            copy_err(resp->msg, &e, st);
        if (send_all(fd, resp, sizeof *resp))
            break;
    }
    _exit(0);
}

/* ---- the parent ----------------------------------------------------------------------------- */

iob_worker *iob_worker_new(const iob_sweep_hooks *hooks, int close_fd)
{
    iob_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->hooks = *hooks;
    w->close_fd = close_fd;
    w->sock = -1;
    return w;
}

void iob_worker_set_close_fd(iob_worker *w, int close_fd) { w->close_fd = close_fd; }

/* Kills and reaps the child; describes how it ended in why (when not NULL). */
static void reap(iob_worker *w, int kill_it, char *why, size_t why_size)
{
    if (!w->pid)
        return;
    if (w->sock >= 0)
        close(w->sock);
    w->sock = -1;
    if (kill_it)
        kill(w->pid, SIGKILL);
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (why) {
        if (WIFSIGNALED(status))
            snprintf(why, why_size, "killed by signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        else if (WIFEXITED(status))
            snprintf(why, why_size, "exited with status %d", WEXITSTATUS(status));
        else
            snprintf(why, why_size, "ended");
    }
    w->pid = 0;
}

static iob_status start(iob_worker *w, int want_machine, iob_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
        return iob_error_set(err, IOB_EIO, "measurement worker: socketpair: %s",
                             strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return iob_error_set(err, IOB_EIO, "measurement worker: fork: %s", strerror(errno));
    }
    if (pid == 0) {
        close(sv[0]);
        if (w->close_fd >= 0)
            close(w->close_fd);
        signal(SIGINT, SIG_IGN); /* Ctrl-C is the parent's to handle: it stops the sweep */
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed sweep takes its worker with it */
#endif
        child_main(&w->hooks, sv[1], want_machine);
    }
    close(sv[1]);
    w->pid = pid;
    w->sock = sv[0];
    w->started++;
    /* the probe initialises CUDA: allow it a minute before calling the child hung */
    int rc = recv_timed(w->sock, &w->hello, sizeof w->hello, 60.0, NULL);
    if (rc) {
        char why[96];
        reap(w, 1, why, sizeof why);
        memset(&w->hello, 0, sizeof w->hello);
        w->hello.status = IOB_EIO;
        snprintf(w->hello.msg, sizeof w->hello.msg, "measurement worker did not answer (%s)",
                 why);
    }
    return IOB_OK;
}

iob_status iob_worker_probe(iob_worker *w, iob_machine *machine, iob_error *err)
{
    if (!w->pid) {
        iob_status st = start(w, machine != NULL, err);
        if (st)
            return st;
    }
    if (w->hello.status) {
        reap(w, 0, NULL, 0);
        return iob_error_set(err, (iob_status)w->hello.status, "%s", w->hello.msg);
    }
    if (machine)
        *machine = w->hello.machine;
    return IOB_OK;
}

/* One request and its response; the failure rules of worker.h. */
static iob_status call(iob_worker *w, request_msg *req, double timeout_s,
                       volatile sig_atomic_t *stop, int *interrupted, response_msg *resp,
                       iob_error *err)
{
    *interrupted = 0;
    iob_status st = iob_worker_probe(w, NULL, err);
    if (st)
        return st;
    if (send_all(w->sock, req, sizeof *req)) {
        char why[96];
        reap(w, 1, why, sizeof why);
        return iob_error_set(err, IOB_EGPU, "measurement worker %s before the request", why);
    }
    int rc = recv_timed(w->sock, resp, sizeof *resp, timeout_s > 0 ? timeout_s : 600, stop);
    if (rc == -3) {
        reap(w, 1, NULL, 0);
        *interrupted = 1;
        return IOB_OK;
    }
    if (rc == -2) {
        reap(w, 1, NULL, 0);
        return iob_error_set(err, IOB_EGPU, "no answer within %.0f s: measurement worker "
                             "killed", timeout_s > 0 ? timeout_s : 600);
    }
    if (rc) {
        char why[96];
        reap(w, 0, why, sizeof why);
        return iob_error_set(err, IOB_EGPU, "measurement worker %s during the measurement", why);
    }
    if (resp->status) {
        /* a GPU error may leave the context unusable ("sticky"): start afresh next time */
        if (resp->status == IOB_EGPU)
            reap(w, 1, NULL, 0);
        return iob_error_set(err, (iob_status)resp->status, "%s", resp->msg);
    }
    return IOB_OK;
}

/* Builds a request of the given type, calls the child and hands back its response. */
static iob_status request(iob_worker *w, int type, const iob_layer *L, const iob_config *cfg,
                          const iob_run_opts *o, double timeout_s, volatile sig_atomic_t *stop,
                          int *interrupted, response_msg *resp, iob_error *err)
{
    request_msg req;
    memset(&req, 0, sizeof req);
    req.type = type;
    req.layer = *L;
    if (cfg) {
        req.has_cfg = 1;
        req.cfg = *cfg;
    }
    req.opts = *o;
    return call(w, &req, timeout_s, stop, interrupted, resp, err);
}

iob_status iob_worker_measure(iob_worker *w, const iob_layer *L, const iob_config *cfg,
                              const iob_run_opts *o, double timeout_s,
                              volatile sig_atomic_t *stop, int *interrupted,
                              iob_measurement *out, iob_error *err)
{
    response_msg *resp = calloc(1, sizeof *resp);
    if (!resp)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    iob_status st = request(w, REQ_MEASURE, L, cfg, o, timeout_s, stop, interrupted, resp, err);
    if (!st && !*interrupted)
        *out = resp->meas;
    free(resp);
    return st;
}

iob_status iob_worker_cudnn(iob_worker *w, const iob_layer *L, const iob_run_opts *o,
                            double timeout_s, volatile sig_atomic_t *stop, int *interrupted,
                            iob_cudnn_best *out, iob_error *err)
{
    response_msg *resp = calloc(1, sizeof *resp);
    if (!resp)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    iob_status st = request(w, REQ_CUDNN, L, NULL, o, timeout_s, stop, interrupted, resp, err);
    if (!st && !*interrupted)
        *out = resp->cudnn;
    free(resp);
    return st;
}

int iob_worker_restarts(const iob_worker *w) { return w->started > 1 ? w->started - 1 : 0; }

void iob_worker_free(iob_worker *w)
{
    if (!w)
        return;
    if (w->pid) {
        /* closing the socket lets an idle child leave on its own; one busy on the GPU is
         * killed */
        close(w->sock);
        w->sock = -1;
        int status;
        for (int i = 0; i < 50; i++) {
            pid_t r = waitpid(w->pid, &status, WNOHANG);
            if (r == w->pid || (r < 0 && errno != EINTR)) {
                w->pid = 0;
                break;
            }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        reap(w, 1, NULL, 0);
    }
    free(w);
}
