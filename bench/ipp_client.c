// SPDX-License-Identifier: Apache-2.0
// IPP Print-Job load client for bench/ipp.sh, on libcups (Debian: libcups2-dev).
// Not built by CMake; the script compiles it:
//   cc -O2 -pthread bench/ipp_client.c -o ipp_client $(pkg-config --cflags --libs cups)
//
// A job is one Print-Job request: printer-uri, requesting-user-name, job-name and
// document-format, followed by the document, sent with Content-Length (libcups:
// cupsSendRequest(len) -> cupsWriteRequestData -> cupsGetResponse). libcups sends
// `Expect: 100-continue` and waits for the server's 100 before the body, as lp(1)
// and the CUPS ipp backend do. A job counts as accepted when the response is
// successful-ok (or ok-ignored/ok-conflicting) and carries a job-id. Latency runs
// from just before cupsSendRequest() to cupsGetResponse()'s return, i.e. from the
// request's first byte to the whole response.
//
//   ipp_client one  HOST PORT RESOURCE FILE FORMAT [RSS_PID]
//       one Print-Job with the whole FILE, on a fresh connection. With RSS_PID, a
//       thread samples VmRSS/VmHWM of /proc/RSS_PID/status every 100 ms meanwhile.
//       Prints: ok=1 bytes=N secs=S mbps=M job_id=I job_state=K status=...
//               [rss_samples=K rss_peak_kb=R hwm_kb=H]
//   ipp_client many HOST PORT RESOURCE FILE FORMAT NJOBS CONC
//       NJOBS Print-Jobs of the whole FILE (small), CONC threads, each with its own
//       keep-alive connection (opened before the clock starts) and one request in
//       flight. Prints: ok=N fail=F skipped=K secs=S jobs_per_s=J mean_ms= p50_ms=
//       p90_ms= p99_ms= max_ms= client_cpu_s= job_state=K first_error=...
//       (first_error: the first refusal's IPP status and message, spaces as '_')
//
// The printer URI is ipp://HOST:PORT/RESOURCE. Everything is bounded: each
// connection has a 60 s I/O timeout (httpSetTimeout without a callback: a stall
// fails the request), NJOBS is finite, `many` starts no new job after
// IPP_BENCH_DEADLINE_S seconds (default 300; those count as skipped), and the RSS
// sampler stops after 36000 samples (1 h). The script also runs it under timeout(1).
#define _GNU_SOURCE
#include <cups/cups.h>
#include <cups/http.h>
#include <cups/ipp.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char* g_host;
static int g_port;
static const char* g_resource;
static const char* g_format;
static char g_uri[1024];
static const unsigned char* g_data;
static size_t g_len;

static pthread_mutex_t g_err_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_first_error[512];  // first failure, for the report
static atomic_int g_job_state;    // job-state of the first accepted job (3 pending, 4 held, ...)

static void note_error(const char* step, ipp_status_t st, const char* msg) {
    pthread_mutex_lock(&g_err_mu);
    if (!g_first_error[0]) {
        snprintf(g_first_error, sizeof g_first_error, "%s:%s:%s", step, ippErrorString(st), msg ? msg : "");
        for (char* p = g_first_error; *p; ++p)
            if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '=') *p = '_';
    }
    pthread_mutex_unlock(&g_err_mu);
}

static http_t* connect_server(void) {
    http_t* http = httpConnect2(g_host, g_port, NULL, AF_INET, HTTP_ENCRYPTION_NEVER, 1, 30000, NULL);
    if (!http) {
        note_error("connect", IPP_STATUS_ERROR_SERVICE_UNAVAILABLE, cupsLastErrorString());
        return NULL;
    }
    httpSetTimeout(http, 60.0, NULL, NULL);  // no callback: a 60 s stall fails the request
    return http;
}

// One Print-Job on `http`. Returns the job-id (> 0) or -1.
static int print_job(http_t* http, long n, double* secs) {
    char name[64];
    snprintf(name, sizeof name, "bench-%ld", n);
    ipp_t* req = ippNewRequest(IPP_OP_PRINT_JOB);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", NULL, g_uri);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", NULL, "bench");
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", NULL, name);
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", NULL, g_format);
    double t0 = now_s();
    // Content-Length covers the attribute section and the document (as cupsDoIORequest).
    http_status_t hs = cupsSendRequest(http, req, g_resource, ippLength(req) + g_len);
    size_t off = 0;
    while (hs == HTTP_STATUS_CONTINUE && off < g_len) {
        size_t k = g_len - off;
        if (k > (1u << 20)) k = 1u << 20;
        hs = cupsWriteRequestData(http, (const char*)g_data + off, k);
        off += k;
    }
    ipp_t* resp = NULL;
    if (hs == HTTP_STATUS_CONTINUE) resp = cupsGetResponse(http, g_resource);
    *secs = now_s() - t0;
    ippDelete(req);
    int id = -1;
    ipp_status_t st = cupsLastError();
    if (hs != HTTP_STATUS_CONTINUE) {
        char m[160];
        snprintf(m, sizeof m, "HTTP_%d_after_%zu_bytes:%s", (int)hs, off, cupsLastErrorString());
        note_error("send", IPP_STATUS_ERROR_INTERNAL, m);
    } else if (!resp) {
        note_error("response", st, cupsLastErrorString());
    } else if (st > IPP_STATUS_OK_EVENTS_COMPLETE) {
        note_error("refused", st, cupsLastErrorString());
    } else {
        ipp_attribute_t* a = ippFindAttribute(resp, "job-id", IPP_TAG_INTEGER);
        if (a) {
            id = ippGetInteger(a, 0);
            ipp_attribute_t* s = ippFindAttribute(resp, "job-state", IPP_TAG_ENUM);
            int expected = 0;
            if (s) atomic_compare_exchange_strong(&g_job_state, &expected, ippGetInteger(s, 0));
        } else {
            note_error("response", st, "no job-id in the response");
        }
    }
    ippDelete(resp);
    return id;
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
    http_t* http = connect_server();
    if (!http) {
        printf("ok=0 first_error=%s\n", g_first_error);
        return 1;
    }
    pthread_t th;
    int sampling = argc > 7;
    if (sampling) {
        g_rss_pid = atoi(argv[7]);
        pthread_create(&th, NULL, sampler, NULL);
    }
    double secs = 0;
    int id = print_job(http, 1, &secs);
    if (sampling) {
        atomic_store(&g_stop_sampler, 1);
        pthread_join(th, NULL);
        long rss, hwm;  // one last sample after the response
        read_status(g_rss_pid, &rss, &hwm);
        if (rss > g_rss_peak_kb) g_rss_peak_kb = rss;
        if (hwm > 0) g_hwm_kb = hwm;
    }
    httpClose(http);
    printf("ok=%d bytes=%zu secs=%.4f mbps=%.1f job_id=%d job_state=%d", id > 0, g_len, secs,
           (double)g_len / 1e6 / secs, id, atomic_load(&g_job_state));
    if (sampling) printf(" rss_samples=%ld rss_peak_kb=%ld hwm_kb=%ld", g_rss_samples, g_rss_peak_kb, g_hwm_kb);
    printf(" first_error=%s\n", g_first_error[0] ? g_first_error : "none");
    return id > 0 ? 0 : 1;
}

// ------------------------------------------------------------------ many jobs
static long g_njobs;
static atomic_long g_next, g_ok, g_fail, g_skipped;
static double g_deadline;
static double* g_lat;
static pthread_barrier_t g_start;
static double g_t0;

static void* worker(void* arg) {
    http_t* http = arg;  // connected before the clock started (keep-alive)
    pthread_barrier_wait(&g_start);
    for (;;) {
        long i = atomic_fetch_add(&g_next, 1);
        if (i >= g_njobs) break;
        if (!http || now_s() > g_deadline) {
            atomic_fetch_add(!http ? &g_fail : &g_skipped, 1);
            g_lat[i] = -1;
            continue;
        }
        double secs = 0;
        if (print_job(http, i + 1, &secs) > 0) {
            atomic_fetch_add(&g_ok, 1);
            g_lat[i] = secs;
        } else {
            atomic_fetch_add(&g_fail, 1);
            g_lat[i] = -1;
        }
    }
    if (http) httpClose(http);
    return NULL;
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static int cmd_many(char** argv) {
    g_njobs = atol(argv[7]);
    int conc = atoi(argv[8]);
    if (g_njobs <= 0 || g_njobs > 10000000 || conc <= 0 || conc > 256) {
        fprintf(stderr, "bad NJOBS or CONC\n");
        return 2;
    }
    g_lat = calloc((size_t)g_njobs, sizeof(double));
    pthread_t th[256];
    http_t* conns[256];
    for (int i = 0; i < conc; ++i) conns[i] = connect_server();
    pthread_barrier_init(&g_start, NULL, (unsigned)conc + 1);
    for (int i = 0; i < conc; ++i) pthread_create(&th[i], NULL, worker, conns[i]);
    const char* dl = getenv("IPP_BENCH_DEADLINE_S");
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    g_t0 = now_s();
    g_deadline = g_t0 + (dl ? atof(dl) : 300.0);
    pthread_barrier_wait(&g_start);
    for (int i = 0; i < conc; ++i) pthread_join(th[i], NULL);
    double secs = now_s() - g_t0;  // the last response has arrived
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    long ok = atomic_load(&g_ok), fail = atomic_load(&g_fail), skipped = atomic_load(&g_skipped);
    double* lat = calloc((size_t)g_njobs, sizeof(double));
    long k = 0;
    for (long i = 0; i < g_njobs; ++i)
        if (g_lat[i] > 0) lat[k++] = g_lat[i];
    qsort(lat, (size_t)k, sizeof(double), cmp_double);
    double sum = 0;
    for (long i = 0; i < k; ++i) sum += lat[i];
    // Nearest-rank percentiles: the smallest value with at least p % at or below it.
#define PCT(p) (k ? lat[(long)((double)(p) / 100.0 * (double)k + 0.999999) - 1] : 0)
    double mean = k ? sum / (double)k : 0, mx = k ? lat[k - 1] : 0;
    printf("ok=%ld fail=%ld skipped=%ld secs=%.4f jobs_per_s=%.1f mean_ms=%.2f p50_ms=%.2f p90_ms=%.2f "
           "p99_ms=%.2f max_ms=%.2f client_cpu_s=%.3f job_state=%d first_error=%s\n",
           ok, fail, skipped, secs, (double)ok / secs, mean * 1e3, PCT(50) * 1e3, PCT(90) * 1e3, PCT(99) * 1e3,
           mx * 1e3, cpu, atomic_load(&g_job_state), g_first_error[0] ? g_first_error : "none");
    return fail == 0 && skipped == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
    int one = argc >= 7 && argc <= 8 && !strcmp(argv[1], "one");
    int many = argc == 9 && !strcmp(argv[1], "many");
    if (!one && !many) {
        fprintf(stderr,
                "usage: %s one  HOST PORT RESOURCE FILE FORMAT [RSS_PID]\n"
                "       %s many HOST PORT RESOURCE FILE FORMAT NJOBS CONC\n",
                argv[0], argv[0]);
        return 2;
    }
    g_host = argv[2];
    g_port = atoi(argv[3]);
    g_resource = argv[4];
    g_format = argv[6];
    snprintf(g_uri, sizeof g_uri, "ipp://%s:%d%s", g_host, g_port, g_resource);
    g_data = map_file(argv[5], &g_len);
    if (!g_data || g_port <= 0) return 2;
    return one ? cmd_one(argc, argv) : cmd_many(argv);
}
