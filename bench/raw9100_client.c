// SPDX-License-Identifier: Apache-2.0
// Raw 9100 (AppSocket) load client for bench/raw9100.sh. Not built by CMake; the
// script compiles it: cc -O2 -pthread bench/raw9100_client.c -o raw9100_client
//
// A job is one connection: connect, stream the bytes, half-close (SHUT_WR), then
// read until the server closes its side. A clean close (read() == 0) is "job
// accepted"; a reset or a timeout is a failure. Time runs from just before
// connect() to the server's close.
//
//   raw9100_client one  HOST PORT FILE [RSS_PID]
//       one job with the whole FILE. With RSS_PID, a thread samples VmRSS and
//       VmHWM of /proc/RSS_PID/status every 100 ms while the job runs.
//       Prints: ok=1 bytes=N secs=S mbps=M [rss_samples=K rss_peak_kb=R hwm_kb=H] [first_error=...]
//   raw9100_client many HOST PORT FILE JOB_BYTES NJOBS CONC
//       NJOBS jobs; job i sends FILE[i*JOB_BYTES, (i+1)*JOB_BYTES) (so FILE must
//       hold NJOBS*JOB_BYTES bytes). CONC threads each keep one job in flight.
//       Prints: ok=N fail=F skipped=K secs=S jobs_per_s=J mean_ms= p50_ms= p90_ms= p99_ms=
//       max_ms= first_error=... (per-job latency, connect -> server close)
//
// Everything is bounded: every socket has 60 s send/receive timeouts, the RSS
// sampler stops after 36000 samples (1 h), NJOBS is finite, and `many` starts no
// new job after RAW9100_DEADLINE_S seconds (default 300; those count as skipped).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sockaddr_in g_addr;
static atomic_int g_first_errno;  // errno of the first failed job (0: none yet)
static const char* g_first_step = "";

static void note_error(const char* step) {
    int expected = 0, e = errno ? errno : -1;
    if (atomic_compare_exchange_strong(&g_first_errno, &expected, e)) g_first_step = step;
}

static int parse_addr(const char* host, const char* port) {
    memset(&g_addr, 0, sizeof g_addr);
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)atoi(port));
    return inet_pton(AF_INET, host, &g_addr.sin_addr) == 1 ? 0 : -1;
}

// One job: returns 0 when the server closed cleanly after reading everything.
static int send_job(const unsigned char* data, size_t len, double* secs) {
    double t0 = now_s();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval tv = {.tv_sec = 60, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr*)&g_addr, sizeof g_addr) != 0) {
        note_error("connect");
        close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        size_t n = len - off;
        if (n > (1u << 20)) n = 1u << 20;
        ssize_t w = send(fd, data + off, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            note_error("send");
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    if (shutdown(fd, SHUT_WR) != 0) {
        note_error("shutdown");
        close(fd);
        return -1;
    }
    char buf[4096];
    int rc = -1;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0) {  // the server's clean close: job accepted
            rc = 0;
            break;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {  // reset or timeout
            note_error("recv");
            break;
        }
        // A raw 9100 server may talk back (p910nd -b); ignore it.
    }
    *secs = now_s() - t0;
    close(fd);
    return rc;
}

static const unsigned char* map_file(const char* path, size_t* len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        fprintf(stderr, "%s: empty or unreadable\n", path);
        close(fd);
        return NULL;
    }
    void* p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        perror("mmap");
        return NULL;
    }
    *len = (size_t)st.st_size;
    return p;
}

// ---------------------------------------------------------------- RSS sampler
static atomic_int g_stop_sampler;
static int g_rss_pid;
static long g_rss_peak_kb, g_hwm_kb, g_rss_samples;

static void read_status(int pid, long* rss, long* hwm) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE* f = fopen(path, "r");
    *rss = *hwm = -1;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6)) *rss = atol(line + 6);
        if (!strncmp(line, "VmHWM:", 6)) *hwm = atol(line + 6);
    }
    fclose(f);
}

static void* sampler(void* arg) {
    (void)arg;
    for (int i = 0; i < 36000 && !atomic_load(&g_stop_sampler); ++i) {
        long rss, hwm;
        read_status(g_rss_pid, &rss, &hwm);
        if (rss < 0) break;
        if (rss > g_rss_peak_kb) g_rss_peak_kb = rss;
        g_hwm_kb = hwm;
        ++g_rss_samples;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int cmd_one(int argc, char** argv) {
    size_t len;
    const unsigned char* data = map_file(argv[4], &len);
    if (!data) return 2;
    pthread_t th;
    int sampling = argc > 5;
    if (sampling) {
        g_rss_pid = atoi(argv[5]);
        pthread_create(&th, NULL, sampler, NULL);
    }
    double secs = 0;
    int rc = send_job(data, len, &secs);
    if (sampling) {
        atomic_store(&g_stop_sampler, 1);
        pthread_join(th, NULL);
        long rss, hwm;  // one last sample after the close
        read_status(g_rss_pid, &rss, &hwm);
        if (rss > g_rss_peak_kb) g_rss_peak_kb = rss;
        if (hwm > 0) g_hwm_kb = hwm;
    }
    printf("ok=%d bytes=%zu secs=%.4f mbps=%.1f", rc == 0, len, secs, (double)len / 1e6 / secs);
    if (sampling) printf(" rss_samples=%ld rss_peak_kb=%ld hwm_kb=%ld", g_rss_samples, g_rss_peak_kb, g_hwm_kb);
    int e = atomic_load(&g_first_errno);
    if (rc != 0) printf(" first_error=%s:%s", g_first_step, e > 0 ? strerrorname_np(e) : "closed?");
    printf("\n");
    return rc == 0 ? 0 : 1;
}

// ------------------------------------------------------------------ many jobs
static const unsigned char* g_data;
static size_t g_job_bytes;
static long g_njobs;
static atomic_long g_next, g_ok, g_fail, g_skipped;
static double g_deadline;
static double* g_lat;

static void* worker(void* arg) {
    (void)arg;
    for (;;) {
        long i = atomic_fetch_add(&g_next, 1);
        if (i >= g_njobs) return NULL;
        if (now_s() > g_deadline) {
            atomic_fetch_add(&g_skipped, 1);
            g_lat[i] = -1;
            continue;
        }
        double secs = 0;
        if (send_job(g_data + (size_t)i * g_job_bytes, g_job_bytes, &secs) == 0) {
            atomic_fetch_add(&g_ok, 1);
            g_lat[i] = secs;
        } else {
            atomic_fetch_add(&g_fail, 1);
            g_lat[i] = -1;
        }
    }
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static int cmd_many(char** argv) {
    size_t len;
    g_data = map_file(argv[4], &len);
    if (!g_data) return 2;
    g_job_bytes = (size_t)atol(argv[5]);
    g_njobs = atol(argv[6]);
    int conc = atoi(argv[7]);
    if (g_job_bytes == 0 || g_njobs <= 0 || conc <= 0 || conc > 256 || g_job_bytes * (size_t)g_njobs > len) {
        fprintf(stderr, "bad arguments (file holds %zu bytes)\n", len);
        return 2;
    }
    g_lat = calloc((size_t)g_njobs, sizeof(double));
    pthread_t th[256];
    const char* dl = getenv("RAW9100_DEADLINE_S");
    double t0 = now_s();
    g_deadline = t0 + (dl ? atof(dl) : 300.0);
    for (int i = 0; i < conc; ++i) pthread_create(&th[i], NULL, worker, NULL);
    for (int i = 0; i < conc; ++i) pthread_join(th[i], NULL);
    double secs = now_s() - t0;  // the last client has seen its server close
    long ok = atomic_load(&g_ok), fail = atomic_load(&g_fail), skipped = atomic_load(&g_skipped);
    double* lat = calloc((size_t)g_njobs, sizeof(double));
    long k = 0;
    for (long i = 0; i < g_njobs; ++i)
        if (g_lat[i] >= 0) lat[k++] = g_lat[i];
    qsort(lat, (size_t)k, sizeof(double), cmp_double);
    double sum = 0;
    for (long i = 0; i < k; ++i) sum += lat[i];
    double mean = k ? sum / (double)k : 0, p50 = k ? lat[k / 2] : 0, p90 = k ? lat[(k * 90) / 100] : 0,
           p99 = k ? lat[(k * 99) / 100] : 0, mx = k ? lat[k - 1] : 0;
    int e = atomic_load(&g_first_errno);
    printf("ok=%ld fail=%ld skipped=%ld secs=%.4f jobs_per_s=%.1f mean_ms=%.2f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
           "max_ms=%.2f first_error=%s%s%s\n",
           ok, fail, skipped, secs, (double)ok / secs, mean * 1e3, p50 * 1e3, p90 * 1e3, p99 * 1e3, mx * 1e3,
           e ? g_first_step : "none", e ? ":" : "", e > 0 ? strerrorname_np(e) : (e ? "closed?" : ""));
    return fail == 0 && skipped == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    if (argc >= 5 && !strcmp(argv[1], "one") && parse_addr(argv[2], argv[3]) == 0) return cmd_one(argc, argv);
    if (argc == 8 && !strcmp(argv[1], "many") && parse_addr(argv[2], argv[3]) == 0) return cmd_many(argv);
    fprintf(stderr,
            "usage: %s one HOST PORT FILE [RSS_PID]\n"
            "       %s many HOST PORT FILE JOB_BYTES NJOBS CONC\n",
            argv[0], argv[0]);
    return 2;
}
