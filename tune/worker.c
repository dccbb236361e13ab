/* worker.c - measurements in a child process that is replaced after a kernel fault.
 *
 * Why a process: a faulting kernel (illegal address, trap) leaves the CUDA context of its process
 * unusable for good, and a hung kernel never returns (DESIGN.md, "Faults and files"). The tuner
 * therefore never touches CUDA itself: each request goes over a UNIX socket to a child started
 * with posix_spawn (a fresh process image, so the parent's own CUDA state, if any, does not
 * matter), and a child that dies, hangs past the time limit or reports a lost context is reaped
 * and a new one started for the next request.
 *
 * Protocol: one JSON object per line, each way (docs/tune.md, "Worker protocol").
 *   child, at start:  {"hello":"iobound-tune-worker","protocol":1}
 *   parent:           {"op":"measure","layer":SPEC,"config":CONFIG} | {"op":"baseline",
 *                     "layer":SPEC} | {"op":"quit"}
 *   child, measure:   {"status":CODE,"time_ms":T,"compile_ms":C,"max_rel_err":E,
 *                      "context_lost":B,"message":M}
 *   child, baseline:  {"status":CODE,"fp32_ms":T,"fp32_algo":A,"tf32_ms":T,"tf32_algo":A,
 *                      "context_lost":B,"message":M}
 *   child, when its measurer fails outright: {"broken":true,"status":CODE,"message":M}, then exits.
 * CODE is an iob_status number; a missing or null number is NaN.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "iobound/tune.h"
#include "tune/tune_internal.h"

extern char **environ;

#define LINE_MAX_BYTES 65536
#define HELLO "iobound-tune-worker"
#define PROTOCOL 1
#define START_TRIES 3

struct iob_tune_worker {
    char **argv;
    double timeout_s;
    pid_t pid;        /* 0: no child running */
    int fd;           /* our end of the socket, -1 without child */
    char buf[LINE_MAX_BYTES];
    size_t len;       /* bytes in buf */
    int starts;
    int failed_starts; /* in a row */
    char last_exit[96]; /* how the last child ended */
};

/* ---- process handling -------------------------------------------------------------------- */

static void describe_exit(int status, char *buf, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else
        snprintf(buf, size, "ended");
}

/* Ends the child (SIGKILL first when kill_it), closes the socket, reaps it. */
static void child_stop(iob_tune_worker *w, int kill_it)
{
    if (!w->pid)
        return;
    if (kill_it)
        kill(w->pid, SIGKILL);
    close(w->fd);
    w->fd = -1;
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    describe_exit(status, w->last_exit, sizeof w->last_exit);
    w->pid = 0;
    w->len = 0;
}

static double now_s(void)
{
    return iob_tune_now(NULL);
}

typedef enum { RD_LINE, RD_EOF, RD_TIMEOUT, RD_TOO_LONG } read_rc;

/* Reads one line (without '\n', NUL-terminated into line) before the deadline. */
static read_rc read_line(iob_tune_worker *w, double deadline, char *line)
{
    for (;;) {
        char *nl = memchr(w->buf, '\n', w->len);
        if (nl) {
            size_t n = (size_t)(nl - w->buf);
            memcpy(line, w->buf, n);
            line[n] = '\0';
            w->len -= n + 1;
            memmove(w->buf, nl + 1, w->len);
            return RD_LINE;
        }
        if (w->len == sizeof w->buf)
            return RD_TOO_LONG;
        double left = deadline - now_s();
        if (left <= 0)
            return RD_TIMEOUT;
        struct pollfd p = {.fd = w->fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            continue; /* re-check the deadline */
        if (pr < 0)
            return RD_EOF;
        ssize_t got = read(w->fd, w->buf + w->len, sizeof w->buf - w->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return RD_EOF;
        w->len += (size_t)got;
    }
}

static int send_all(iob_tune_worker *w, const char *text)
{
    size_t n = strlen(text), off = 0;
    while (off < n) {
        /* MSG_NOSIGNAL: a dead child must not kill us with SIGPIPE */
        ssize_t k = send(w->fd, text + off, n - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        off += (size_t)k;
    }
    return 0;
}

static iob_status child_start(iob_tune_worker *w, iob_error *err)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return iob_error_set(err, IOB_EIO, "worker: socketpair: %s", strerror(errno));
    /* close-on-exec: later children must not inherit this socket (the dup2 copies below, which
     * become the child's stdin and stdout, do not carry the flag) */
    fcntl(sv[0], F_SETFD, FD_CLOEXEC);
    fcntl(sv[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
    pid_t pid;
    int rc = posix_spawn(&pid, w->argv[0], &fa, NULL, w->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc) {
        close(sv[0]);
        w->failed_starts++;
        return iob_error_set(err, IOB_EIO, "worker: cannot start %s: %s", w->argv[0],
                             strerror(rc));
    }
    w->pid = pid;
    w->fd = sv[0];
    w->len = 0;
    char *line = malloc(LINE_MAX_BYTES);
    if (!line) {
        child_stop(w, 1);
        return iob_error_set(err, IOB_ENOMEM, "worker: out of memory");
    }
    read_rc r = read_line(w, now_s() + w->timeout_s, line);
    cJSON *hello = r == RD_LINE ? cJSON_Parse(line) : NULL;
    cJSON *h = cJSON_GetObjectItemCaseSensitive(hello, "hello");
    int ok = cJSON_IsString(h) && !strcmp(h->valuestring, HELLO);
    cJSON_Delete(hello);
    free(line);
    if (!ok) {
        child_stop(w, 1);
        w->failed_starts++;
        return iob_error_set(err, IOB_EIO, "worker: %s did not greet (%s; %s)", w->argv[0],
                             r == RD_TIMEOUT ? "no answer in time" : "bad or no greeting",
                             w->last_exit);
    }
    w->starts++;
    w->failed_starts = 0;
    return IOB_OK;
}

static iob_status ensure_started(iob_tune_worker *w, iob_error *err)
{
    iob_status st = IOB_OK;
    while (!w->pid) {
        if (w->failed_starts >= START_TRIES)
            return st ? st
                      : iob_error_set(err, IOB_EIO, "worker: %d failed starts in a row",
                                      START_TRIES);
        st = child_start(w, err);
        if (st == IOB_ENOMEM)
            return st;
    }
    return IOB_OK;
}

typedef enum { RQ_ANSWER, RQ_DIED, RQ_TIMEOUT, RQ_GARBLED } request_rc;

/* Sends one request line and reads the answer as JSON into *answer. */
static request_rc request(iob_tune_worker *w, const char *text, cJSON **answer)
{
    *answer = NULL;
    if (send_all(w, text)) {
        child_stop(w, 1);
        return RQ_DIED;
    }
    char *line = malloc(LINE_MAX_BYTES);
    if (!line) {
        child_stop(w, 1);
        return RQ_GARBLED;
    }
    read_rc r = read_line(w, now_s() + w->timeout_s, line);
    request_rc rc;
    if (r == RD_LINE) {
        *answer = cJSON_Parse(line);
        rc = cJSON_IsObject(*answer) ? RQ_ANSWER : RQ_GARBLED;
        if (rc != RQ_ANSWER) {
            cJSON_Delete(*answer);
            *answer = NULL;
            child_stop(w, 1);
        }
    } else {
        rc = r == RD_TIMEOUT ? RQ_TIMEOUT : r == RD_EOF ? RQ_DIED : RQ_GARBLED;
        child_stop(w, 1);
    }
    free(line);
    return rc;
}

/* ---- JSON helpers ------------------------------------------------------------------------ */

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void jstr(const cJSON *o, const char *key, char *buf, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(buf, size, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

static int jbool(const cJSON *o, const char *key)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static iob_status jstatus(const cJSON *o)
{
    double v = jnum(o, "status");
    return isnan(v) || v < 0 || v > IOB_EINFEASIBLE ? IOB_EGPU : (iob_status)(int)v;
}

/* NaN becomes null: JSON has no NaN */
static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static char *request_text(const char *op, const iob_layer *L, const iob_config *cfg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "op", op);
    if (L) {
        char spec[512];
        iob_layer_format(L, spec, sizeof spec);
        cJSON_AddStringToObject(o, "layer", spec);
    }
    if (cfg) {
        char text[256];
        iob_config_format(cfg, text, sizeof text);
        cJSON_AddStringToObject(o, "config", text);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *line = realloc(s, n + 2);
    if (!line) {
        free(s);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    return line;
}

/* ---- the parent's measurer --------------------------------------------------------------- */

/* Turns an answer-less request into a failed result; the child is already gone. */
static void lost_answer(iob_tune_worker *w, request_rc rc, iob_status *status, char *msg,
                        size_t size)
{
    *status = IOB_EGPU;
    if (rc == RQ_TIMEOUT)
        snprintf(msg, size, "worker gave no answer within %g s and was killed", w->timeout_s);
    else if (rc == RQ_DIED)
        snprintf(msg, size, "worker process died (%s)", w->last_exit);
    else
        snprintf(msg, size, "worker sent a malformed answer and was killed");
}

/* An answer {"broken":true}: the child's measurer cannot go on, and neither can we. */
static iob_status broken_answer(iob_tune_worker *w, const cJSON *a, iob_error *err)
{
    char msg[200];
    jstr(a, "message", msg, sizeof msg);
    iob_status st = jstatus(a);
    child_stop(w, 1);
    w->failed_starts = START_TRIES; /* do not start it again */
    return iob_error_set(err, st == IOB_OK ? IOB_EGPU : st, "worker: %s", msg);
}

/* Sends op for L (and cfg) and reads the answer into *a (the caller deletes it), with its status
 * and message. *a is NULL when the child gave no answer (died, hung, garbled: status and message
 * say so, and the child is gone). A return other than IOB_OK: the measurer is broken. */
static iob_status ask(iob_tune_worker *w, const char *op, const iob_layer *L,
                      const iob_config *cfg, cJSON **a, iob_status *status, char *msg,
                      size_t size, iob_error *err)
{
    *a = NULL;
    iob_status st = ensure_started(w, err);
    if (st)
        return st;
    char *text = request_text(op, L, cfg);
    if (!text)
        return iob_error_set(err, IOB_ENOMEM, "worker: out of memory");
    request_rc rc = request(w, text, a);
    free(text);
    if (rc != RQ_ANSWER) {
        lost_answer(w, rc, status, msg, size);
        return IOB_OK;
    }
    if (jbool(*a, "broken")) {
        st = broken_answer(w, *a, err);
        cJSON_Delete(*a);
        *a = NULL;
        return st;
    }
    *status = jstatus(*a);
    jstr(*a, "message", msg, size);
    if (jbool(*a, "context_lost"))
        child_stop(w, 1); /* its context is done for; the next request starts a fresh one */
    return IOB_OK;
}

static iob_status worker_measure(void *ctx, const iob_layer *L, const iob_config *cfg,
                                 iob_tune_meas *out, iob_error *err)
{
    memset(out, 0, sizeof *out);
    out->time_ms = out->max_rel_err = NAN;
    cJSON *a;
    iob_status st = ask(ctx, "measure", L, cfg, &a, &out->status, out->message,
                        sizeof out->message, err);
    if (st || !a) {
        out->context_lost = !st;
        return st;
    }
    out->time_ms = jnum(a, "time_ms");
    out->compile_ms = jnum(a, "compile_ms");
    out->max_rel_err = jnum(a, "max_rel_err");
    out->context_lost = jbool(a, "context_lost");
    cJSON_Delete(a);
    return IOB_OK;
}

static iob_status worker_baseline(void *ctx, const iob_layer *L, iob_tune_baseline *out,
                                  iob_error *err)
{
    memset(out, 0, sizeof *out);
    out->fp32_ms = out->tf32_ms = NAN;
    cJSON *a;
    iob_status st = ask(ctx, "baseline", L, NULL, &a, &out->status, out->message,
                        sizeof out->message, err);
    if (st || !a)
        return st;
    out->fp32_ms = jnum(a, "fp32_ms");
    out->tf32_ms = jnum(a, "tf32_ms");
    jstr(a, "fp32_algo", out->fp32_algo, sizeof out->fp32_algo);
    jstr(a, "tf32_algo", out->tf32_algo, sizeof out->tf32_algo);
    cJSON_Delete(a);
    return IOB_OK;
}

iob_status iob_tune_worker_open(char *const argv[], double timeout_s, iob_tune_worker **out,
                                iob_error *err)
{
    *out = NULL;
    if (!argv || !argv[0])
        return iob_error_set(err, IOB_EINVAL, "worker: no command");
    if (!(timeout_s > 0))
        return iob_error_set(err, IOB_EINVAL, "worker: timeout %g s must be positive",
                             timeout_s);
    iob_tune_worker *w = calloc(1, sizeof *w);
    if (!w)
        return iob_error_set(err, IOB_ENOMEM, "worker: out of memory");
    size_t n = 0;
    while (argv[n])
        n++;
    w->argv = calloc(n + 1, sizeof *w->argv);
    for (size_t i = 0; w->argv && i < n; i++)
        if (!(w->argv[i] = strdup(argv[i]))) {
            iob_tune_worker_close(w);
            return iob_error_set(err, IOB_ENOMEM, "worker: out of memory");
        }
    if (!w->argv) {
        free(w);
        return iob_error_set(err, IOB_ENOMEM, "worker: out of memory");
    }
    w->timeout_s = timeout_s;
    w->fd = -1;
    iob_status st = ensure_started(w, err);
    if (st) {
        iob_tune_worker_close(w);
        return st;
    }
    *out = w;
    return IOB_OK;
}

iob_measurer iob_tune_worker_measurer(iob_tune_worker *w)
{
    /* the parent compiles into the disk cache the child reads: NVRTC needs no GPU context */
    iob_measurer m = {worker_measure, worker_baseline, w, iob_tune_precompile};
    return m;
}

int iob_tune_worker_starts(const iob_tune_worker *w)
{
    return w->starts;
}

void iob_tune_worker_close(iob_tune_worker *w)
{
    if (!w)
        return;
    if (w->pid) {
        int quit_sent = send_all(w, "{\"op\":\"quit\"}\n") == 0;
        /* wait for its end of the socket to close, then reap; kill it if it lingers */
        char *line = quit_sent ? malloc(LINE_MAX_BYTES) : NULL;
        int ended = 0;
        double deadline = now_s() + w->timeout_s;
        while (line) {
            read_rc r = read_line(w, deadline, line);
            if (r == RD_LINE)
                continue;
            ended = r == RD_EOF;
            break;
        }
        free(line);
        child_stop(w, !ended);
    }
    if (w->argv)
        for (size_t i = 0; w->argv[i]; i++)
            free(w->argv[i]);
    free(w->argv);
    free(w);
}

/* ---- the child's side -------------------------------------------------------------------- */

static void reply(FILE *out, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    if (s) {
        fputs(s, out);
        fputc('\n', out);
        free(s);
    }
    fflush(out);
    cJSON_Delete(o);
}

static void reply_broken(FILE *out, iob_status st, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddTrueToObject(o, "broken");
    cJSON_AddNumberToObject(o, "status", st);
    cJSON_AddStringToObject(o, "message", msg);
    reply(out, o);
}

/* Answers one measure request; returns 1 when this process must end (lost context, broken). */
static int serve_measure(FILE *out, const cJSON *req, const iob_measurer *inner)
{
    iob_layer L;
    iob_config cfg;
    iob_error e;
    iob_error_clear(&e);
    iob_tune_meas m;
    memset(&m, 0, sizeof m);
    m.time_ms = m.max_rel_err = NAN;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(req, "layer");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(req, "config");
    if (!cJSON_IsString(spec) || !cJSON_IsString(text) ||
        iob_layer_parse(spec->valuestring, &L, &e) ||
        iob_config_parse(text->valuestring, &cfg, &e)) {
        m.status = IOB_EINVAL;
        snprintf(m.message, sizeof m.message, "bad request: %.180s",
                 e.msg[0] ? e.msg : "layer and config strings expected");
    } else {
        iob_status st = inner->measure(inner->ctx, &L, &cfg, &m, &e);
        if (st) {
            reply_broken(out, st, e.msg);
            return 1;
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "status", m.status);
    add_num(o, "time_ms", m.time_ms);
    add_num(o, "compile_ms", m.compile_ms);
    add_num(o, "max_rel_err", m.max_rel_err);
    cJSON_AddBoolToObject(o, "context_lost", m.context_lost);
    cJSON_AddStringToObject(o, "message", m.message);
    reply(out, o);
    return m.context_lost;
}

static int serve_baseline(FILE *out, const cJSON *req, const iob_measurer *inner)
{
    iob_layer L;
    iob_error e;
    iob_error_clear(&e);
    iob_tune_baseline b;
    memset(&b, 0, sizeof b);
    b.fp32_ms = b.tf32_ms = NAN;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(req, "layer");
    if (!cJSON_IsString(spec) || iob_layer_parse(spec->valuestring, &L, &e)) {
        b.status = IOB_EINVAL;
        snprintf(b.message, sizeof b.message, "bad request: %.180s",
                 e.msg[0] ? e.msg : "layer string expected");
    } else if (!inner->baseline) {
        b.status = IOB_ENOTSUP;
        snprintf(b.message, sizeof b.message, "this measurer has no baseline");
    } else {
        iob_status st = inner->baseline(inner->ctx, &L, &b, &e);
        if (st) {
            reply_broken(out, st, e.msg);
            return 1;
        }
    }
    int lost = b.status == IOB_EGPU;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "status", b.status);
    add_num(o, "fp32_ms", b.fp32_ms);
    cJSON_AddStringToObject(o, "fp32_algo", b.fp32_algo);
    add_num(o, "tf32_ms", b.tf32_ms);
    cJSON_AddStringToObject(o, "tf32_algo", b.tf32_algo);
    cJSON_AddBoolToObject(o, "context_lost", lost);
    cJSON_AddStringToObject(o, "message", b.message);
    reply(out, o);
    return lost;
}

int iob_tune_worker_serve(FILE *in, FILE *out, const iob_measurer *inner)
{
    cJSON *hello = cJSON_CreateObject();
    cJSON_AddStringToObject(hello, "hello", HELLO);
    cJSON_AddNumberToObject(hello, "protocol", PROTOCOL);
    reply(out, hello);
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (getline(&line, &cap, in) > 0) {
        cJSON *req = cJSON_Parse(line);
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
        if (!cJSON_IsString(op)) {
            cJSON_Delete(req);
            rc = 2;
            break;
        }
        int end = 0;
        if (!strcmp(op->valuestring, "quit"))
            end = -1;
        else if (!strcmp(op->valuestring, "measure"))
            end = serve_measure(out, req, inner);
        else if (!strcmp(op->valuestring, "baseline"))
            end = serve_baseline(out, req, inner);
        else
            end = 2;
        cJSON_Delete(req);
        if (end) {
            rc = end < 0 ? 0 : end;
            break;
        }
    }
    free(line);
    return rc;
}
