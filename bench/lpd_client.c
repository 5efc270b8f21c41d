// SPDX-License-Identifier: Apache-2.0
// LPD (RFC 1179) load client for bench/lpd.sh. Not built by CMake; the script
// compiles it: cc -O2 -pthread bench/lpd_client.c -o lpd_client
//
// A job is one connection, as CUPS's lpd backend sends it: "\2QUEUE\n", the control
// file ("\2LEN cfANNNbench\n", its bytes and a NUL), the data file ("\3LEN
// dfANNNbench\n", its bytes and a NUL), each step waiting for the server's 0 byte.
// After the last acknowledgement the client half-closes and reads until the server
// closes: cups-lpd hands the job to cupsd only once the client is done, printgate
// has committed it (fsynced) before that last acknowledgement. Time runs from just
// before connect() to the server's close.
//
//   lpd_client one  HOST PORT QUEUE FILE
//       one job with the whole FILE (streamed from a read-only mapping).
//       Prints: ok=1 bytes=N secs=S mbps=M [error=...]
//   lpd_client many HOST PORT QUEUE FILE JOB_BYTES NJOBS CONC
//       NJOBS jobs; job i is FILE[i*JOB_BYTES, (i+1)*JOB_BYTES). CONC threads keep
//       one job in flight each.
//       Prints: ok=N fail=F skipped=K secs=S jobs_per_s=J p50_ms= p90_ms= p99_ms= max_ms= error=...
//
// Bounds: every socket has 60 s send and receive timeouts; `many` starts no job
// after LPD_DEADLINE_S seconds (default 300; those count as skipped).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in server;
static const char* queue;
static char first_error[128];
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int failed(const char* step, long job) {
    pthread_mutex_lock(&error_lock);
    if (!first_error[0])
        snprintf(first_error, sizeof first_error, "job%ld:%s:%s", job, step, errno ? strerrorname_np(errno) : "nak");
    pthread_mutex_unlock(&error_lock);
    return -1;
}

static int put(int fd, const void* p, size_t n) {
    const char* c = p;
    while (n > 0) {
        size_t piece = n > (1u << 20) ? (1u << 20) : n;
        ssize_t w = send(fd, c, piece, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

// The server's answer to one step: 0 is yes.
static int acked(int fd) {
    unsigned char b = 1;
    for (;;) {
        ssize_t r = recv(fd, &b, 1, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r != 1) return -1;
        errno = 0;
        return b == 0 ? 0 : -1;
    }
}

static int lpd_job(long job, const unsigned char* data, size_t len, double* took) {
    const double start = seconds();
    const unsigned number = (unsigned)(job % 1000);
    char control[256], line[128];
    int clen = snprintf(control, sizeof control, "Hbench\nPbench\nJbench job %ld\nldfA%03ubench\nUdfA%03ubench\nNjob%ld\n",
                        job, number, number, job);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return failed("socket", job);
    struct timeval limit = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    int rc = -1;
    const char* step = "connect";
    if (connect(fd, (struct sockaddr*)&server, sizeof server) != 0) goto out;
    step = "queue";
    int n = snprintf(line, sizeof line, "\2%s\n", queue);
    if (put(fd, line, (size_t)n) || acked(fd)) goto out;
    step = "control";
    n = snprintf(line, sizeof line, "\2%d cfA%03ubench\n", clen, number);
    if (put(fd, line, (size_t)n) || acked(fd) || put(fd, control, (size_t)clen + 1) || acked(fd)) goto out;
    step = "data";
    n = snprintf(line, sizeof line, "\3%zu dfA%03ubench\n", len, number);
    if (put(fd, line, (size_t)n) || acked(fd) || put(fd, data, len) || put(fd, "", 1)) goto out;
    step = "last ack";
    if (acked(fd)) goto out;
    step = "close";
    if (shutdown(fd, SHUT_WR) != 0) goto out;
    for (int i = 0; i < 1024; ++i) {  // anything the server still says is dropped
        char sink[512];
        ssize_t r = recv(fd, sink, sizeof sink, 0);
        if (r == 0) {
            rc = 0;
            break;
        }
        if (r < 0 && errno != EINTR) break;
    }
out:
    *took = seconds() - start;
    close(fd);
    return rc == 0 ? 0 : failed(step, job);
}

static const unsigned char* load(const char* path, size_t* len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    void* p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    *len = (size_t)st.st_size;
    return p == MAP_FAILED ? NULL : p;
}

static const unsigned char* all_data;
static size_t job_bytes;
static long jobs;
static double deadline;
static double* latency;  // per job; < 0: failed or skipped
static atomic_long next_job, ok_count, fail_count, skip_count;

static void* worker(void* unused) {
    (void)unused;
    for (long i; (i = atomic_fetch_add(&next_job, 1)) < jobs;) {
        latency[i] = -1;
        if (seconds() > deadline) {
            atomic_fetch_add(&skip_count, 1);
            continue;
        }
        double took;
        if (lpd_job(i, all_data + (size_t)i * job_bytes, job_bytes, &took) == 0) {
            latency[i] = took;
            atomic_fetch_add(&ok_count, 1);
        } else {
            atomic_fetch_add(&fail_count, 1);
        }
    }
    return NULL;
}

static int by_value(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
    const int one = argc == 6 && !strcmp(argv[1], "one"), many = argc == 9 && !strcmp(argv[1], "many");
    server.sin_family = AF_INET;
    if ((!one && !many) || inet_pton(AF_INET, argv[2], &server.sin_addr) != 1) {
        fprintf(stderr, "usage: %s one HOST PORT QUEUE FILE\n       %s many HOST PORT QUEUE FILE JOB_BYTES NJOBS CONC\n",
                argv[0], argv[0]);
        return 2;
    }
    server.sin_port = htons((unsigned short)atoi(argv[3]));
    queue = argv[4];
    size_t len;
    const unsigned char* data = load(argv[5], &len);
    if (!data) return 2;
    if (one) {
        double took;
        const int rc = lpd_job(1, data, len, &took);
        printf("ok=%d bytes=%zu secs=%.4f mbps=%.1f error=%s\n", rc == 0, len, took, (double)len / 1e6 / took,
               first_error[0] ? first_error : "none");
        return rc == 0 ? 0 : 1;
    }
    all_data = data;
    job_bytes = (size_t)atol(argv[6]);
    jobs = atol(argv[7]);
    const int conc = atoi(argv[8]);
    if (job_bytes == 0 || jobs <= 0 || conc <= 0 || conc > 64 || job_bytes * (size_t)jobs > len) {
        fprintf(stderr, "bad sizes: the file has %zu bytes\n", len);
        return 2;
    }
    latency = calloc((size_t)jobs, sizeof *latency);
    const char* limit = getenv("LPD_DEADLINE_S");
    const double start = seconds();
    deadline = start + (limit ? atof(limit) : 300.0);
    pthread_t threads[64];
    for (int i = 0; i < conc; ++i) pthread_create(&threads[i], NULL, worker, NULL);
    for (int i = 0; i < conc; ++i) pthread_join(threads[i], NULL);
    const double took = seconds() - start;
    long k = 0;
    for (long i = 0; i < jobs; ++i)
        if (latency[i] >= 0) latency[k++] = latency[i];
    qsort(latency, (size_t)k, sizeof *latency, by_value);
#define PCT(p) (k ? latency[(k - 1) * (p) / 100] * 1e3 : 0.0)
    printf("ok=%ld fail=%ld skipped=%ld secs=%.3f jobs_per_s=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
           "error=%s\n",
           atomic_load(&ok_count), atomic_load(&fail_count), atomic_load(&skip_count), took,
           (double)atomic_load(&ok_count) / took, PCT(50), PCT(90), PCT(99), PCT(100),
           first_error[0] ? first_error : "none");
    return atomic_load(&fail_count) || atomic_load(&skip_count) ? 1 : 0;
}
