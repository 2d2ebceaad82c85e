/*
 * The loopback floor: what one message to N TCP connections costs on this machine when nothing
 * but the kernel is involved. No JVM, no WebSocket or SSE framing, no queues: one writer thread
 * sends a fixed-size message to each of N connected loopback sockets (TCP_NODELAY on both ends),
 * `rate` times a second; one reader thread reads all N client ends through epoll, as the load
 * generators do. Any server that writes each message to each connection with its own system call
 * pays at least this; the Java benchmarks run it in the same run for comparison.
 *
 * Each message carries its intended send time (CLOCK_MONOTONIC) and a sequence number; latency is
 * measured from the intended time, so a late tick counts (no coordinated omission). Every
 * connection must receive 1..k in order.
 *
 *   gcc -O2 -pthread -o loopback-floor loopback-floor.c
 *   ./loopback-floor clients rate seconds messageBytes
 *
 * Prints one line in the load generators' format:
 *   RESULT expected=.. received=.. loss=.. outOfOrder=.. closed=0 complete=.. seconds=..
 *          perSecond=.. p50us=.. p99us=.. p999us=.. maxus=.. clientCpuMs=.. serverCpuMs=..
 * where "server" is the writer thread and "client" the reader thread.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int clients = 1000, rate = 100, seconds = 10, msg = 256;
static long ticks;
static int *server_fd, *client_fd;
static long *next_seq;  /* per client: the sequence number it expects next */
static char **carry;    /* per client: the start of a message split across reads */
static int *carry_len;
static long *latency;
static long received, out_of_order;
static double writer_cpu, reader_cpu;

static long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

static double thread_cpu_seconds(void) {
  struct rusage r;
  getrusage(RUSAGE_THREAD, &r);
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec + r.ru_stime.tv_usec / 1e6;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void *writer(void *unused) {
  char *buf = calloc(1, msg);
  memset(buf, 'x', msg);
  long start = now_ns() + 50 * 1000000L;
  long period = 1000000000L / rate;
  for (long k = 0; k < ticks; k++) {
    long due = start + k * period;
    long wait;
    while ((wait = due - now_ns()) > 0) {
      if (wait > 60000) {
        struct timespec ts = {0, wait - 50000};
        nanosleep(&ts, NULL);
      }
    }
    long seq = k + 1;
    memcpy(buf, &due, 8);
    memcpy(buf + 8, &seq, 8);
    for (int i = 0; i < clients; i++) {
      int off = 0;
      while (off < msg) { /* blocking socket: a short write only if interrupted */
        ssize_t n = write(server_fd[i], buf + off, msg - off);
        if (n < 0 && errno != EINTR) die("write");
        if (n > 0) off += n;
      }
    }
  }
  writer_cpu = thread_cpu_seconds();
  free(buf);
  return NULL;
}

static void on_message(int c, const char *m, long now) {
  long due, seq;
  memcpy(&due, m, 8);
  memcpy(&seq, m + 8, 8);
  if (seq != next_seq[c]) out_of_order++;
  next_seq[c] = seq + 1;
  latency[received++] = now - due;
}

static void *reader(void *unused) {
  int ep = epoll_create1(0);
  for (int i = 0; i < clients; i++) {
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t) i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, client_fd[i], &e)) die("epoll_ctl");
  }
  struct epoll_event events[256];
  static char buf[256 * 1024];
  long want = (long) clients * ticks;
  long idle_since = now_ns();
  while (received < want) {
    int n = epoll_wait(ep, events, 256, 100);
    if (n <= 0) {
      if (now_ns() - idle_since > 15 * 1000000000L) break; /* no progress: report the loss */
      continue;
    }
    idle_since = now_ns();
    for (int j = 0; j < n; j++) {
      int c = (int) events[j].data.u32;
      ssize_t r = read(client_fd[c], buf, sizeof buf);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        /* closed: stop watching it (its missing messages count as loss) */
        epoll_ctl(ep, EPOLL_CTL_DEL, client_fd[c], NULL);
        continue;
      }
      if (r < 0) continue;
      long now = now_ns();
      int p = 0;
      if (carry_len[c] > 0) { /* finish the message split across reads */
        int need = msg - carry_len[c];
        int take = r < need ? (int) r : need;
        memcpy(carry[c] + carry_len[c], buf, take);
        carry_len[c] += take;
        p = take;
        if (carry_len[c] < msg) continue;
        on_message(c, carry[c], now);
        carry_len[c] = 0;
      }
      for (; p + msg <= r; p += msg) on_message(c, buf + p, now);
      if (p < r) {
        memcpy(carry[c], buf + p, r - p);
        carry_len[c] = (int) (r - p);
      }
    }
  }
  reader_cpu = thread_cpu_seconds();
  close(ep);
  return NULL;
}

static int compare(const void *a, const void *b) {
  long x = *(const long *) a, y = *(const long *) b;
  return x < y ? -1 : x > y;
}

static long quantile_us(double q) {
  if (received == 0) return 0;
  long i = (long) (q * received);
  if (i >= received) i = received - 1;
  return latency[i] / 1000;
}

int main(int argc, char **argv) {
  if (argc > 1) clients = atoi(argv[1]);
  if (argc > 2) rate = atoi(argv[2]);
  if (argc > 3) seconds = atoi(argv[3]);
  if (argc > 4) msg = atoi(argv[4]);
  if (clients < 1 || rate < 1 || seconds < 1 || msg < 16) {
    fprintf(stderr, "usage: loopback-floor clients rate seconds messageBytes(>=16)\n");
    return 2;
  }
  ticks = (long) rate * seconds;
  /* Two descriptors per connection plus a few: raise the soft limit to the hard one if needed. */
  struct rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  rlim_t need = (rlim_t) clients * 2 + 64;
  if (lim.rlim_cur < need) {
    lim.rlim_cur = lim.rlim_max < need ? lim.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < need) {
    fprintf(stderr, "loopback-floor: %d clients need %lu file descriptors; the limit is %lu\n",
            clients, (unsigned long) need, (unsigned long) lim.rlim_cur);
    return 3;
  }
  server_fd = calloc(clients, sizeof(int));
  client_fd = calloc(clients, sizeof(int));
  next_seq = calloc(clients, sizeof(long));
  carry = calloc(clients, sizeof(char *));
  carry_len = calloc(clients, sizeof(int));
  latency = calloc((size_t) clients * ticks, sizeof(long));
  if (!latency) die("calloc");

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listener, (struct sockaddr *) &addr, sizeof addr)) die("bind");
  if (listen(listener, 4096)) die("listen");
  socklen_t len = sizeof addr;
  getsockname(listener, (struct sockaddr *) &addr, &len);
  int one = 1;
  for (int i = 0; i < clients; i++) {
    client_fd[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (client_fd[i] < 0) die("socket");
    /* spread the sources over 127.0.0.1-8, as the Java load generators do */
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001 + i % 8)};
    if (bind(client_fd[i], (struct sockaddr *) &src, sizeof src)) die("bind source");
    if (connect(client_fd[i], (struct sockaddr *) &addr, sizeof addr)) die("connect");
    setsockopt(client_fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(client_fd[i], F_SETFL, O_NONBLOCK);
    server_fd[i] = accept(listener, NULL, NULL);
    if (server_fd[i] < 0) die("accept");
    setsockopt(server_fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    next_seq[i] = 1;
    carry[i] = malloc(msg);
  }

  pthread_t w, r;
  long t0 = now_ns();
  pthread_create(&r, NULL, reader, NULL);
  pthread_create(&w, NULL, writer, NULL);
  pthread_join(w, NULL);
  pthread_join(r, NULL);
  double wall = (now_ns() - t0) / 1e9;

  long complete = 0;
  for (int i = 0; i < clients; i++) {
    if (next_seq[i] - 1 == ticks) complete++;
  }
  qsort(latency, received, sizeof(long), compare);
  long expected = (long) clients * ticks;
  printf("RESULT expected=%ld received=%ld loss=%ld outOfOrder=%ld closed=0 complete=%ld"
         " seconds=%.3f perSecond=%.0f p50us=%ld p99us=%ld p999us=%ld maxus=%ld"
         " clientCpuMs=%.0f serverCpuMs=%.0f\n",
         expected, received, expected - received, out_of_order, complete, wall,
         received / wall, quantile_us(0.50), quantile_us(0.99), quantile_us(0.999),
         received ? latency[received - 1] / 1000 : 0, reader_cpu * 1000, writer_cpu * 1000);
  return 0;
}
