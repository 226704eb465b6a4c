/*
 * MQTT load generator for bench/mqtt/mqtt.bench.ts.
 *
 * One thread, one epoll loop, non-blocking sockets and MQTT 3.1.1 / 5.0 frames written by hand,
 * so that on a 2-core machine the generator costs a fraction of what the broker under test does
 * (its own CPU time is part of the report, to show it). Modes:
 *
 *   pairs    N publisher/subscriber pairs, one topic per pair
 *   fanout   1 publisher, N subscribers on one topic (each message is delivered N times)
 *   fanin    N publishers, 1 subscriber on one topic
 *   latency  N pairs at a fixed total rate (--rate), publish->deliver times
 *   connect  CONNECT, CONNACK, DISCONNECT, close, again, with N connections in progress at once
 *   idle     N connections that CONNECT (long keepalive) and then only hold, until --seconds
 *            have passed since the last one connected, or SIGTERM
 *
 * Publishers send as fast as two bounds allow, so that what is measured is delivery, not how
 * much a broker can buffer: an end-to-end window per publisher (--window messages sent but not
 * yet received by every subscriber) and, for QoS 1, an inflight window of unacknowledged PUBLISH
 * packets (--inflight, capped by the broker's Receive Maximum under MQTT 5). User-space output
 * is also bounded per socket (OUT_CAP). A message a broker drops would hold its window forever:
 * after STALL_NS without progress the outstanding messages are counted as lost and the window
 * moves on.
 *
 * Every payload starts with 16 bytes: send time (CLOCK_MONOTONIC, ns), publisher index, sequence.
 * Sender and receiver are this one process, so publish->deliver latency needs no clock sync.
 *
 * Output: one JSON object on stdout at the end. Progress on stderr, one line each, for the
 * harness to sample the broker's CPU over the same interval: "measure-start", "measure-end",
 * and "ready <n>" in idle mode once every connection has its CONNACK.
 *
 * Build: cc -O2 -o loadgen loadgen.c (Linux only: epoll, timerfd, IP_BIND_ADDRESS_NO_PORT).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

/* Bytes of output a publisher may have queued in user space: bounds what sits unsent per socket. */
#define OUT_CAP (16 * 1024)
/* A window that has not moved for this long holds messages the broker dropped. */
#define STALL_NS 500000000ull
/* Shared read buffer: every socket reads into it; only a partial frame is kept per connection. */
#define RBUF_SIZE (256 * 1024)
#define HDR 16

enum mode { M_PAIRS, M_FANOUT, M_FANIN, M_LATENCY, M_CONNECT, M_IDLE };
enum role { R_SUB, R_PUB, R_PLAIN };
enum state { S_FREE, S_CONNECTING, S_CONNACK, S_SUBACK, S_READY, S_CLOSED };
enum phase { P_SETUP, P_WARMUP, P_MEASURE, P_DONE };

struct conn {
	int fd;
	uint32_t gen; /* bumped when a connect-mode slot reopens: stale epoll events are ignored */
	uint8_t role, state, wblocked, woken;
	uint8_t pending; /* opened, no CONNACK yet: counts against --concurrency */
	uint32_t topic_ix; /* which topic this connection publishes or subscribes to */
	char *topic;       /* its name, formatted once (not per message) */
	uint16_t topic_len;
	uint64_t opened_ns;
	/* a frame split across reads */
	uint8_t *part;
	uint32_t partlen, partcap;
	/* output not yet written */
	uint8_t *wbuf;
	uint32_t wlen, woff, wcap;
	/* publisher */
	uint32_t pub_ix, sent, base, inflight, max_inflight;
	uint16_t next_pid;
	uint32_t *ring; /* deliveries seen per outstanding message, window slots */
	uint64_t progress_ns;
};

static struct {
	enum mode mode;
	const char *host;
	int port, proto, qos, clients, payload, window, inflight, concurrency, src_base, src_count, keepalive;
	int sub_ports[16]; /* subscribers connect here when set (other nodes of a cluster): subscriber i to sub_ports[i % nsub_ports] */
	int nsub_ports;
	const char *sub_host; /* and to this address (default: --host) */
	double seconds, warmup, rate, timeout;
	char id[32];
} opt = {
	.host = "127.0.0.1", .port = 1883, .proto = 4, .qos = 0, .clients = 100, .payload = 16, .window = 100,
	.inflight = 64, .concurrency = 64, .src_base = 2, .src_count = 0, .keepalive = 60,
	.seconds = 5, .warmup = 1, .rate = 2000, .timeout = 60,
};

static struct conn *conns;
static int nconns;
static struct conn **pubs;
static int npubs;
static uint32_t expect_per_msg; /* deliveries per message: N in fanout, 1 otherwise */
static int ep;
static uint8_t rbuf[RBUF_SIZE];
static struct conn **wake;
static int nwake;
static enum phase phase = P_SETUP;
static volatile sig_atomic_t stop_flag;
static uint8_t payload_pad[65536];

/* counters; snapshots at measure-start and measure-end give the figures */
static uint64_t c_sent, c_recv, c_lost, c_stalls, c_connacks, c_connect_ok, c_connect_err, c_closed, c_refused, c_late;
static uint64_t s_sent, s_recv, s_connect_ok;
static uint64_t t_traffic, t_mstart, t_mend, t_ready, t_begin;
static double cpu_mstart, cpu_mend, user_mstart, user_mend;
static int ready_subs, ready_pubs, connecting, completed;
static uint64_t t_last_connack;
static char errbuf[256];

/* latency histogram, ns: exact below 1024, then 512 sub-buckets per power of two (0.2 % error) */
#define HBUCKETS (1024 + 55 * 512)
static uint64_t hist[HBUCKETS], hcount, hmax;

static inline uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* user and system CPU of this process: nearly all of it is system time, the loopback TCP stack */
static double cpu_user(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
}

static double cpu_seconds(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void hist_add(uint64_t v) {
	int i;
	if (v < 1024) {
		i = (int)v;
	} else {
		int e = (63 - __builtin_clzll(v)) - 9;
		i = 1024 + (e - 1) * 512 + (int)((v >> e) - 512);
	}
	hist[i]++;
	hcount++;
	if (v > hmax) hmax = v;
}

static double hist_pct(double p) {
	if (hcount == 0) return -1;
	uint64_t rank = (uint64_t)(p / 100.0 * (double)hcount + 0.999999);
	if (rank < 1) rank = 1;
	uint64_t acc = 0;
	for (int i = 0; i < HBUCKETS; i++) {
		acc += hist[i];
		if (acc >= rank) {
			if (i < 1024) return i;
			int e = (i - 1024) / 512 + 1;
			uint64_t sub = (uint64_t)((i - 1024) % 512 + 512);
			return (double)((sub << e) + ((1ull << e) >> 1));
		}
	}
	return (double)hmax;
}

static void fail(const char *fmt, ...) {
	if (errbuf[0]) return; /* the first error is the one that explains */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
}

static void on_signal(int sig) {
	(void)sig;
	stop_flag = 1;
}

/* ---- MQTT frames ---- */

static int put_varint(uint8_t *p, uint32_t v) {
	int n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		p[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

static void out_reserve(struct conn *c, uint32_t need) {
	if (c->wcap - c->wlen >= need) return;
	if (c->woff) { /* drop what is already written before growing */
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
		if (c->wcap - c->wlen >= need) return;
	}
	uint32_t cap = c->wcap ? c->wcap : 256;
	while (cap - c->wlen < need) cap *= 2;
	c->wbuf = realloc(c->wbuf, cap);
	if (!c->wbuf) { perror("realloc"); exit(3); }
	c->wcap = cap;
}

static void topic_of(uint32_t ix, char *buf, size_t len) {
	if (opt.mode == M_FANOUT || opt.mode == M_FANIN) snprintf(buf, len, "bench/%s/all", opt.id);
	else snprintf(buf, len, "bench/%s/p/%u", opt.id, ix);
}

static void put_connect(struct conn *c, uint32_t n) {
	char cid[64];
	int cl = snprintf(cid, sizeof cid, "%s-%u", opt.id, n);
	uint8_t body[128];
	int b = 0;
	body[b++] = 0; body[b++] = 4; memcpy(body + b, "MQTT", 4); b += 4;
	body[b++] = (uint8_t)opt.proto;
	body[b++] = 0x02; /* clean session / clean start */
	body[b++] = (uint8_t)(opt.keepalive >> 8); body[b++] = (uint8_t)opt.keepalive;
	if (opt.proto == 5) body[b++] = 0; /* no properties: session expiry 0, receive maximum 65535 */
	body[b++] = (uint8_t)(cl >> 8); body[b++] = (uint8_t)cl;
	memcpy(body + b, cid, (size_t)cl); b += cl;
	out_reserve(c, (uint32_t)b + 5);
	uint8_t *p = c->wbuf + c->wlen;
	p[0] = 0x10;
	int h = 1 + put_varint(p + 1, (uint32_t)b);
	memcpy(p + h, body, (size_t)b);
	c->wlen += (uint32_t)(h + b);
}

static void put_subscribe(struct conn *c) {
	const char *topic = c->topic;
	int tl = c->topic_len;
	int rl = 2 + (opt.proto == 5 ? 1 : 0) + 2 + tl + 1;
	out_reserve(c, (uint32_t)rl + 5);
	uint8_t *p = c->wbuf + c->wlen;
	int i = 0;
	p[i++] = 0x82;
	i += put_varint(p + i, (uint32_t)rl);
	p[i++] = 0; p[i++] = 1; /* packet id 1 */
	if (opt.proto == 5) p[i++] = 0;
	p[i++] = (uint8_t)(tl >> 8); p[i++] = (uint8_t)tl;
	memcpy(p + i, topic, (size_t)tl); i += tl;
	p[i++] = (uint8_t)opt.qos;
	c->wlen += (uint32_t)i;
}

static void put_publish(struct conn *c, uint64_t ts) {
	const char *topic = c->topic;
	int tl = c->topic_len;
	int rl = 2 + tl + (opt.qos ? 2 : 0) + (opt.proto == 5 ? 1 : 0) + opt.payload;
	out_reserve(c, (uint32_t)rl + 5);
	uint8_t *p = c->wbuf + c->wlen;
	int i = 0;
	p[i++] = (uint8_t)(0x30 | (opt.qos << 1));
	i += put_varint(p + i, (uint32_t)rl);
	p[i++] = (uint8_t)(tl >> 8); p[i++] = (uint8_t)tl;
	memcpy(p + i, topic, (size_t)tl); i += tl;
	if (opt.qos) {
		if (++c->next_pid == 0) c->next_pid = 1;
		p[i++] = (uint8_t)(c->next_pid >> 8); p[i++] = (uint8_t)c->next_pid;
		c->inflight++;
	}
	if (opt.proto == 5) p[i++] = 0;
	memcpy(p + i, &ts, 8);
	memcpy(p + i + 8, &c->pub_ix, 4);
	memcpy(p + i + 12, &c->sent, 4);
	if (opt.payload > HDR) memcpy(p + i + HDR, payload_pad, (size_t)(opt.payload - HDR));
	i += opt.payload;
	c->wlen += (uint32_t)i;
	c->sent++;
	c_sent++;
}

static void put_small(struct conn *c, uint8_t type, int has_pid, uint16_t pid) {
	out_reserve(c, 4);
	uint8_t *p = c->wbuf + c->wlen;
	p[0] = type;
	p[1] = has_pid ? 2 : 0;
	if (has_pid) { p[2] = (uint8_t)(pid >> 8); p[3] = (uint8_t)pid; }
	c->wlen += has_pid ? 4 : 2;
}

/* ---- sockets ---- */

static void start_next_connect(struct conn *slot);
static void open_more(void);
static int next_to_open;

/* dropped: the connection ended other than by our choice (counted; in connect mode the slot
 * starts over, elsewhere the run stops because its figures would not mean anything). */
/* The handshake of c is over (CONNACK or failure): another connection may start. */
static void settle(struct conn *c) {
	if (!c->pending) return;
	c->pending = 0;
	connecting--;
}

static void conn_close(struct conn *c, int dropped) {
	settle(c);
	if (c->fd >= 0) close(c->fd); /* closing the last reference also leaves the epoll set */
	c->fd = -1;
	c->state = S_CLOSED;
	c->wlen = c->woff = 0;
	c->partlen = 0;
	if (!dropped) return;
	c_closed++;
	if (opt.mode == M_CONNECT) start_next_connect(c);
}

static void flush(struct conn *c) {
	while (c->woff < c->wlen && !c->wblocked && c->fd >= 0) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
		if (n > 0) {
			c->woff += (uint32_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->wblocked = 1;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else {
			fail("send: %s", strerror(errno));
			conn_close(c, 1);
			return;
		}
	}
	if (c->woff == c->wlen) c->woff = c->wlen = 0;
}

static void wake_conn(struct conn *c) {
	if (c->woken) return;
	c->woken = 1;
	wake[nwake++] = c;
}

static int conn_open(struct conn *c, uint32_t n) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail("socket: %s (the open-file limit?)", strerror(errno));
		return -1;
	}
	int one = 1;
	/* Publishers and subscribers write small frames back to back. A connect-mode socket writes
	 * CONNECT, then DISCONNECT only after the CONNACK acknowledged it: Nagle never holds either,
	 * and one system call less per connection is CPU the broker gets instead. */
	if (opt.mode != M_CONNECT && opt.mode != M_IDLE) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (opt.src_count > 0) {
		/* Each source address has its own ephemeral port range: many addresses, many connections.
		 * IP_BIND_ADDRESS_NO_PORT defers the port choice to connect(), which can then share a
		 * port across destinations instead of reserving it at bind(). */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		struct sockaddr_in src = { .sin_family = AF_INET };
		src.sin_addr.s_addr = htonl((127u << 24) | (uint32_t)(opt.src_base + (int)(n % (uint32_t)opt.src_count)));
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
			fail("bind 127.0.0.%d: %s", opt.src_base + (int)(n % (uint32_t)opt.src_count), strerror(errno));
			close(fd);
			return -1;
		}
	}
	int port = c->role == R_SUB && opt.nsub_ports > 0 ? opt.sub_ports[n % (uint32_t)opt.nsub_ports] : opt.port;
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, c->role == R_SUB && opt.sub_host ? opt.sub_host : opt.host, &dst.sin_addr);
	if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS) {
		if (errno == EADDRNOTAVAIL) fail("connect: %s (ephemeral ports used up: more source addresses?)", strerror(errno));
		else fail("connect: %s", strerror(errno));
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->gen++;
	c->state = S_CONNECTING;
	c->wblocked = 1; /* writable once the handshake completes (EPOLLOUT) */
	c->opened_ns = now_ns();
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	ev.data.u64 = ((uint64_t)c->gen << 32) | (uint32_t)(c - conns);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		fail("epoll_ctl: %s", strerror(errno));
		close(fd);
		c->fd = -1;
		return -1;
	}
	/* Counted until CONNACK, not until TCP connects: the kernel completes handshakes the broker
	 * has not accepted yet, and opening more then overflows its listen backlog (SYNs dropped, a
	 * 1 s retransmission in the figures). */
	connecting++;
	c->pending = 1;
	put_connect(c, n);
	return 0;
}

/* ---- publishing ---- */

static int traffic_on(void) { return phase == P_WARMUP || phase == P_MEASURE; }

/* Sends what the windows allow (not in latency mode, which is paced by the timer). */
static void fill(struct conn *c) {
	if (opt.mode == M_LATENCY || !traffic_on() || c->state != S_READY) return;
	uint64_t ts = now_ns();
	while (c->wlen - c->woff < OUT_CAP) {
		if (opt.window && c->sent - c->base >= (uint32_t)opt.window) break;
		if (opt.qos && c->inflight >= c->max_inflight) break;
		put_publish(c, ts);
	}
	flush(c);
}

/* Wakes a publisher only once half of each of its windows is free again: refilling after every
 * single delivery would cost one send() per message, and the generator would spend more CPU on
 * system calls than the broker it measures. */
static void wake_pub(struct conn *p) {
	if (opt.window && p->sent - p->base > (uint32_t)opt.window / 2) return;
	if (opt.qos && p->inflight > p->max_inflight / 2) return;
	wake_conn(p);
}

/* A message from publisher `pix` with sequence `seq` reached a subscriber. */
static void delivered(uint32_t pix, uint32_t seq, uint64_t sent_ns, uint64_t now) {
	c_recv++;
	if (phase == P_MEASURE) hist_add(now - sent_ns);
	if (pix >= (uint32_t)npubs || !opt.window) return;
	struct conn *p = pubs[pix];
	uint32_t W = (uint32_t)opt.window;
	if (seq - p->base >= p->sent - p->base) return; /* already written off as lost */
	p->ring[seq % W]++;
	if (seq != p->base) return;
	while (p->base != p->sent && p->ring[p->base % W] >= expect_per_msg) {
		p->ring[p->base % W] = 0;
		p->base++;
	}
	p->progress_ns = now;
	wake_pub(p);
}

/* Writes off what a broker dropped, so one lost QoS 0 message does not stop a publisher. */
static void check_stalls(uint64_t now) {
	if (!opt.window) return;
	for (int i = 0; i < npubs; i++) {
		struct conn *p = pubs[i];
		if (p->sent == p->base || now - p->progress_ns < STALL_NS) continue;
		uint32_t W = (uint32_t)opt.window;
		for (uint32_t s = p->base; s != p->sent; s++) {
			c_lost += expect_per_msg - (p->ring[s % W] < expect_per_msg ? p->ring[s % W] : expect_per_msg);
			p->ring[s % W] = 0;
		}
		p->base = p->sent;
		p->progress_ns = now;
		c_stalls++;
		wake_conn(p);
	}
}

/* ---- incoming frames ---- */

/* Length of an MQTT 5 property's value (after its identifier), or -1 if not known. */
static int prop_len(uint8_t id, const uint8_t *p, uint32_t left) {
	switch (id) {
	case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A: return 1;
	case 0x13: case 0x21: case 0x22: case 0x23: return 2;
	case 0x02: case 0x11: case 0x18: case 0x27: return 4;
	case 0x0B: {
		int n = 0;
		while (n < 4 && (uint32_t)n < left && (p[n] & 0x80)) n++;
		return n + 1;
	}
	case 0x03: case 0x08: case 0x09: case 0x12: case 0x15: case 0x16: case 0x1A: case 0x1C: case 0x1F:
		return left >= 2 ? 2 + (p[0] << 8 | p[1]) : -1;
	case 0x26:
		if (left < 2) return -1;
		{
			int k = 2 + (p[0] << 8 | p[1]);
			if ((uint32_t)k + 2 > left) return -1;
			return k + 2 + (p[k] << 8 | p[k + 1]);
		}
	default: return -1;
	}
}

static int get_varint(const uint8_t *p, uint32_t len, uint32_t *v) {
	uint32_t val = 0;
	for (int i = 0; i < 4; i++) {
		if ((uint32_t)i >= len) return 0;
		val |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = val;
			return i + 1;
		}
	}
	return -1;
}

static void on_frame(struct conn *c, uint8_t type, const uint8_t *p, uint32_t rl, uint64_t now) {
	switch (type >> 4) {
	case 2: { /* CONNACK */
		if (rl < 2 || c->state != S_CONNACK) { fail("unexpected CONNACK"); conn_close(c, 1); return; }
		if (p[1] != 0) {
			c_refused++;
			fail("CONNACK refused, code 0x%02x", p[1]);
			conn_close(c, 1);
			return;
		}
		if (opt.proto == 5 && rl > 2) {
			uint32_t plen = 0;
			int k = get_varint(p + 2, rl - 2, &plen);
			uint32_t i = 2 + (uint32_t)(k > 0 ? k : 0), end = i + plen;
			while (k > 0 && i < end && end <= rl) {
				uint8_t id = p[i++];
				int l = prop_len(id, p + i, end - i);
				if (l < 0) break;
				if (id == 0x21 && l == 2) { /* Receive Maximum: the broker's QoS 1 inflight limit */
					uint32_t rm = (uint32_t)(p[i] << 8 | p[i + 1]);
					if (rm && rm < c->max_inflight) c->max_inflight = rm;
				}
				i += (uint32_t)l;
			}
		}
		c_connacks++;
		t_last_connack = now;
		settle(c);
		if (opt.mode != M_CONNECT) open_more();
		if (opt.mode == M_CONNECT) {
			if (phase == P_MEASURE) {
				c_connect_ok++;
				hist_add(now - c->opened_ns);
			}
			/* DISCONNECT straight to the socket: a failed send changes nothing here */
			static const uint8_t disc[2] = { 0xE0, 0 };
			(void)!send(c->fd, disc, 2, MSG_NOSIGNAL | MSG_DONTWAIT);
			conn_close(c, 0);
			start_next_connect(c);
			return;
		}
		if (c->role == R_SUB) {
			put_subscribe(c);
			c->state = S_SUBACK;
			wake_conn(c);
		} else {
			c->state = S_READY;
			if (c->role == R_PUB) ready_pubs++;
			else ready_subs++; /* idle: counted with the subscribers */
		}
		return;
	}
	case 9: { /* SUBACK */
		uint32_t off = 2;
		if (opt.proto == 5 && rl > 2) {
			uint32_t plen = 0;
			int k = get_varint(p + 2, rl - 2, &plen);
			off += (uint32_t)(k > 0 ? k : 0) + plen;
		}
		if (off >= rl || p[off] >= 0x80) {
			fail("SUBSCRIBE refused (code 0x%02x)", off < rl ? p[off] : 0);
			conn_close(c, 1);
			return;
		}
		c->state = S_READY;
		ready_subs++;
		return;
	}
	case 3: { /* PUBLISH */
		int qos = (type >> 1) & 3;
		if (rl < 2) return;
		uint32_t i = 2 + (uint32_t)(p[0] << 8 | p[1]);
		uint16_t pid = 0;
		if (qos) {
			if (i + 2 > rl) return;
			pid = (uint16_t)(p[i] << 8 | p[i + 1]);
			i += 2;
		}
		if (opt.proto == 5) {
			uint32_t plen = 0;
			int k = get_varint(p + i, rl - i, &plen);
			if (k <= 0) return;
			i += (uint32_t)k + plen;
		}
		if (qos == 1) {
			put_small(c, 0x40, 1, pid);
			wake_conn(c);
		} else if (qos == 2) {
			put_small(c, 0x50, 1, pid); /* PUBREC; not used by the benchmark, kept protocol-correct */
			wake_conn(c);
		}
		if (rl - i >= HDR) {
			uint64_t ts;
			uint32_t pix, seq;
			memcpy(&ts, p + i, 8);
			memcpy(&pix, p + i + 8, 4);
			memcpy(&seq, p + i + 12, 4);
			delivered(pix, seq, ts, now);
		}
		return;
	}
	case 4: /* PUBACK */
		if (c->inflight) c->inflight--;
		if (opt.mode == M_LATENCY) break;
		wake_pub(c);
		return;
	case 6: /* PUBREL (QoS 2 only): complete it */
		if (rl >= 2) { put_small(c, 0x70, 1, (uint16_t)(p[0] << 8 | p[1])); wake_conn(c); }
		return;
	case 14: /* DISCONNECT from the broker (MQTT 5) */
		fail("DISCONNECT from the broker, reason 0x%02x", rl ? p[0] : 0);
		conn_close(c, 1);
		return;
	default:
		return; /* PINGRESP and anything else the benchmark does not need */
	}
}

/* Parses whole frames from buf; returns the bytes consumed. */
static uint32_t parse(struct conn *c, const uint8_t *buf, uint32_t len, uint64_t now) {
	uint32_t off = 0, gen = c->gen;
	while (len - off >= 2 && c->fd >= 0 && c->gen == gen) {
		uint32_t rl;
		int k = get_varint(buf + off + 1, len - off - 1, &rl);
		if (k == 0) break;
		if (k < 0) { fail("malformed length from the broker"); conn_close(c, 1); return len; }
		uint32_t total = 1 + (uint32_t)k + rl;
		if (len - off < total) break;
		on_frame(c, buf[off], buf + off + 1 + k, rl, now);
		off += total;
	}
	return off;
}

static void on_readable(struct conn *c, uint64_t now) {
	uint32_t gen = c->gen;
	while (c->fd >= 0 && c->gen == gen) {
		/* a partial frame from the last read goes first, then the new bytes after it */
		uint32_t have = c->partlen;
		if (have > RBUF_SIZE / 2) { fail("frame too large"); conn_close(c, 1); return; }
		if (have) memcpy(rbuf, c->part, have);
		ssize_t n = recv(c->fd, rbuf + have, RBUF_SIZE - have, 0);
		if (n == 0) {
			fail("the broker closed a connection (state %d)", c->state);
			conn_close(c, 1);
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) return;
			if (errno == EINTR) continue;
			fail("recv: %s", strerror(errno));
			conn_close(c, 1);
			return;
		}
		uint32_t len = have + (uint32_t)n;
		uint32_t used = parse(c, rbuf, len, now);
		if (c->fd < 0 || c->gen != gen) return; /* closed while parsing (connect mode: reopened) */
		c->partlen = len - used;
		if (c->partlen) {
			if (c->partcap < c->partlen) {
				c->part = realloc(c->part, c->partlen);
				if (!c->part) { perror("realloc"); exit(3); }
				c->partcap = c->partlen;
			}
			memcpy(c->part, rbuf + used, c->partlen);
		}
		if ((size_t)n < RBUF_SIZE - have) return; /* short read: nothing more queued for now */
	}
}


/* Opens connections up to --concurrency handshakes in progress (a burst of SYNs overflows backlogs). */
static void open_more(void) {
	while (next_to_open < nconns && connecting < opt.concurrency) {
		struct conn *c = &conns[next_to_open];
		if (conn_open(c, (uint32_t)next_to_open) < 0) {
			c_connect_err++;
			/* idle mode holds as many as it can get; elsewhere one failure ends the run */
			if (opt.mode == M_IDLE) { next_to_open++; continue; }
			next_to_open = nconns;
			return;
		}
		next_to_open++;
	}
}

static uint32_t connect_seq;

static void start_next_connect(struct conn *slot) {
	if (phase == P_DONE || stop_flag) return;
	if (conn_open(slot, connect_seq++) < 0) c_connect_err++;
}

/* ---- main loop ---- */

static void usage(void) {
	fprintf(stderr,
	        "usage: loadgen --mode pairs|fanout|fanin|latency|connect|idle --port P [--host 127.0.0.1]\n"
	        "  [--proto 4|5] [--qos 0|1] [--clients N] [--payload B>=16] [--window W] [--inflight N]\n"
	        "  [--rate msg/s] [--seconds S] [--warmup S] [--concurrency C] [--src-base X --src-count K]\n"
	        "  [--keepalive S] [--id PREFIX] [--timeout S] [--sub-host A --sub-port P[,P...] (subscribers on other nodes, dealt round robin)]\n");
	exit(2);
}

static void parse_args(int argc, char **argv) {
	static struct option lo[] = {
		{ "mode", 1, 0, 'm' }, { "host", 1, 0, 'h' }, { "port", 1, 0, 'p' }, { "proto", 1, 0, 'V' },
		{ "qos", 1, 0, 'q' }, { "clients", 1, 0, 'n' }, { "payload", 1, 0, 'b' }, { "window", 1, 0, 'w' },
		{ "inflight", 1, 0, 'i' }, { "rate", 1, 0, 'r' }, { "seconds", 1, 0, 's' }, { "warmup", 1, 0, 'W' },
		{ "concurrency", 1, 0, 'c' }, { "src-base", 1, 0, 'B' }, { "src-count", 1, 0, 'K' },
		{ "keepalive", 1, 0, 'k' }, { "id", 1, 0, 'I' }, { "timeout", 1, 0, 'T' }, { "sub-port", 1, 0, 'S' }, { "sub-host", 1, 0, 'H' }, { 0, 0, 0, 0 },
	};
	const char *mode = NULL;
	snprintf(opt.id, sizeof opt.id, "lg%d", (int)getpid());
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'm': mode = optarg; break;
		case 'h': opt.host = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'S':
			for (char *p = optarg; *p != '\0' && opt.nsub_ports < 16;) {
				opt.sub_ports[opt.nsub_ports++] = atoi(p);
				char *comma = strchr(p, ',');
				if (!comma) break;
				p = comma + 1;
			}
			break;
		case 'H': opt.sub_host = optarg; break;
		case 'V': opt.proto = atoi(optarg); break;
		case 'q': opt.qos = atoi(optarg); break;
		case 'n': opt.clients = atoi(optarg); break;
		case 'b': opt.payload = atoi(optarg); break;
		case 'w': opt.window = atoi(optarg); break;
		case 'i': opt.inflight = atoi(optarg); break;
		case 'r': opt.rate = atof(optarg); break;
		case 's': opt.seconds = atof(optarg); break;
		case 'W': opt.warmup = atof(optarg); break;
		case 'c': opt.concurrency = atoi(optarg); break;
		case 'B': opt.src_base = atoi(optarg); break;
		case 'K': opt.src_count = atoi(optarg); break;
		case 'k': opt.keepalive = atoi(optarg); break;
		case 'I': snprintf(opt.id, sizeof opt.id, "%s", optarg); break;
		case 'T': opt.timeout = atof(optarg); break;
		default: usage();
		}
	}
	if (!mode) usage();
	if (!strcmp(mode, "pairs")) opt.mode = M_PAIRS;
	else if (!strcmp(mode, "fanout")) opt.mode = M_FANOUT;
	else if (!strcmp(mode, "fanin")) opt.mode = M_FANIN;
	else if (!strcmp(mode, "latency")) opt.mode = M_LATENCY;
	else if (!strcmp(mode, "connect")) opt.mode = M_CONNECT;
	else if (!strcmp(mode, "idle")) opt.mode = M_IDLE;
	else usage();
	if ((opt.proto != 4 && opt.proto != 5) || opt.qos < 0 || opt.qos > 1 || opt.clients < 1 || opt.payload < HDR ||
	    opt.payload > (int)sizeof payload_pad || opt.window < 0 || opt.inflight < 1 || opt.inflight > 65000 ||
	    opt.concurrency < 1 || opt.keepalive < 0 || opt.keepalive > 65535 || opt.seconds <= 0 || opt.rate <= 0 || opt.src_count < 0 || opt.src_base < 1 ||
	    opt.src_base + opt.src_count > 255)
		usage();
	if (opt.mode == M_LATENCY) opt.window = 0; /* paced by rate, not by windows */
}

static void print_json(void) {
	double secs = (t_mend > t_mstart) ? (double)(t_mend - t_mstart) / 1e9 : 0;
	double cpu = cpu_mend - cpu_mstart;
	uint64_t sent = c_sent - s_sent, recv = c_recv - s_recv;
	static const char *names[] = { "pairs", "fanout", "fanin", "latency", "connect", "idle" };
	printf("{\"mode\":\"%s\",\"proto\":%d,\"qos\":%d,\"clients\":%d,\"payload\":%d,\"window\":%d,\"inflight\":%d",
	       names[opt.mode], opt.proto, opt.qos, opt.clients, opt.payload, opt.window, opt.inflight);
	/* connect and idle modes count failed connections and carry on; the traffic modes must not lose one */
	int ok = completed && (opt.mode == M_CONNECT || opt.mode == M_IDLE || c_closed == 0);
	printf(",\"ok\":%s,\"error\":", ok ? "true" : "false");
	if (errbuf[0]) {
		putchar('"');
		for (const char *s = errbuf; *s; s++) {
			if (*s == '"' || *s == '\\') putchar('\\');
			putchar(*s >= 0x20 ? *s : ' ');
		}
		putchar('"');
	} else {
		printf("null");
	}
	printf(",\"seconds\":%.4f,\"setup_seconds\":%.4f", secs, t_traffic ? (double)(t_traffic - t_begin) / 1e9 : -1.0);
	printf(",\"sent\":%llu,\"received\":%llu", (unsigned long long)sent, (unsigned long long)recv);
	printf(",\"sent_per_s\":%.1f,\"received_per_s\":%.1f", secs ? sent / secs : 0, secs ? recv / secs : 0);
	printf(",\"lost\":%llu,\"stalls\":%llu,\"late\":%llu,\"closed\":%llu", (unsigned long long)c_lost,
	       (unsigned long long)c_stalls, (unsigned long long)c_late, (unsigned long long)c_closed);
	printf(",\"connects\":%llu,\"connects_per_s\":%.1f,\"connect_errors\":%llu,\"refused\":%llu",
	       (unsigned long long)(c_connect_ok - s_connect_ok), secs ? (c_connect_ok - s_connect_ok) / secs : 0,
	       (unsigned long long)c_connect_err, (unsigned long long)c_refused);
	printf(",\"connected\":%d,\"ready_seconds\":%.4f", ready_subs + ready_pubs, t_ready ? (double)(t_ready - t_begin) / 1e9 : -1.0);
	printf(",\"latency_us\":{\"count\":%llu,\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f}", (unsigned long long)hcount,
	       hcount ? hist_pct(50) / 1e3 : -1, hcount ? hist_pct(99) / 1e3 : -1, hcount ? (double)hmax / 1e3 : -1);
	printf(",\"cpu_seconds\":%.4f,\"cpu_user_seconds\":%.4f,\"cpu_share\":%.4f,\"cpu_total_seconds\":%.4f}\n", cpu,
	       user_mend - user_mstart, secs ? cpu / secs : 0, cpu_seconds());
	fflush(stdout);
}

static int drained(void) {
	if (opt.mode == M_LATENCY && c_recv < c_sent) return 0;
	for (int i = 0; i < npubs; i++) {
		if (opt.window && pubs[i]->sent != pubs[i]->base) return 0;
		if (pubs[i]->inflight) return 0;
	}
	return 1;
}

static void begin_measure(uint64_t now) {
	phase = P_MEASURE;
	t_mstart = now;
	cpu_mstart = cpu_seconds();
	user_mstart = cpu_user();
	s_sent = c_sent;
	s_recv = c_recv;
	s_connect_ok = c_connect_ok;
	fprintf(stderr, "measure-start\n");
}

static void end_measure(uint64_t now) {
	phase = P_DONE;
	completed = 1;
	t_mend = now;
	cpu_mend = cpu_seconds();
	user_mend = cpu_user();
	fprintf(stderr, "measure-end\n");
}

int main(int argc, char **argv) {
	parse_args(argc, argv);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stderr, NULL, _IOLBF, 0);

	int n = opt.clients;
	switch (opt.mode) {
	case M_PAIRS: case M_LATENCY: nconns = 2 * n; npubs = n; expect_per_msg = 1; break;
	case M_FANOUT: nconns = n + 1; npubs = 1; expect_per_msg = (uint32_t)n; break;
	case M_FANIN: nconns = n + 1; npubs = n; expect_per_msg = 1; break;
	case M_CONNECT: nconns = n; npubs = 0; break;
	case M_IDLE: nconns = n; npubs = 0; break;
	}
	conns = calloc((size_t)nconns, sizeof *conns);
	pubs = calloc((size_t)(npubs ? npubs : 1), sizeof *pubs);
	wake = calloc((size_t)nconns, sizeof *wake);
	if (!conns || !pubs || !wake) { perror("calloc"); return 3; }
	/* subscribers first, so that every subscription exists before a publisher starts */
	int nsubs = (opt.mode == M_FANOUT) ? n : (opt.mode == M_FANIN) ? 1 : (opt.mode == M_CONNECT || opt.mode == M_IDLE) ? 0 : n;
	for (int i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		c->fd = -1;
		c->max_inflight = (uint32_t)opt.inflight;
		if (opt.mode == M_CONNECT || opt.mode == M_IDLE) { c->role = R_PLAIN; continue; }
		if (i < nsubs) {
			c->role = R_SUB;
			c->topic_ix = (uint32_t)i;
		} else {
			c->role = R_PUB;
			c->pub_ix = (uint32_t)(i - nsubs);
			c->topic_ix = c->pub_ix;
			pubs[c->pub_ix] = c;
		}
		char topic[96];
		topic_of(c->topic_ix, topic, sizeof topic);
		c->topic = strdup(topic);
		c->topic_len = (uint16_t)strlen(topic);
		if (c->role == R_PUB) {
			if (opt.window) {
				c->ring = calloc((size_t)opt.window, sizeof *c->ring);
				if (!c->ring) { perror("calloc"); return 3; }
			}
		}
	}

	ep = epoll_create1(EPOLL_CLOEXEC);
	int tfd = -1;
	const uint64_t TIMER_TAG = 0xFFFFFFFFull;
	t_begin = now_ns();
	uint64_t setup_deadline = t_begin + (uint64_t)(opt.timeout * 1e9);
	uint64_t paced = 0; /* latency mode: messages due so far */
	uint32_t rr = 0;
	uint64_t last_stall_check = 0, drain_deadline = 0, last_ping = t_begin;

	if (opt.mode == M_CONNECT) {
		/* --clients connections in progress at once, each slot reconnecting as soon as it is done */
		connect_seq = 0;
		phase = P_WARMUP;
		t_traffic = t_begin;
		for (int i = 0; i < nconns; i++) start_next_connect(&conns[i]);
	} else {
		open_more();
	}

	struct epoll_event evs[512];
	while (!stop_flag) {
		int ne = epoll_wait(ep, evs, 512, 10);
		if (ne < 0 && errno != EINTR) { fail("epoll_wait: %s", strerror(errno)); break; }
		uint64_t now = now_ns();
		for (int e = 0; e < ne; e++) {
			uint64_t tag = evs[e].data.u64;
			if (tag == TIMER_TAG) {
				uint64_t exp;
				if (read(tfd, &exp, sizeof exp) < 0) continue;
				if (!traffic_on()) continue;
				/* send what the rate says is due by now, round robin over the publishers */
				uint64_t due = (uint64_t)(opt.rate * (double)(now - t_traffic) / 1e9);
				while (paced < due) {
					struct conn *p = pubs[rr++ % (uint32_t)npubs];
					paced++;
					if (p->state != S_READY || p->wlen - p->woff >= OUT_CAP || (opt.qos && p->inflight >= p->max_inflight)) {
						c_late++; /* skipped, not queued: queuing would measure our backlog, not the broker */
						continue;
					}
					put_publish(p, now);
					wake_conn(p);
				}
				continue;
			}
			struct conn *c = &conns[(uint32_t)tag];
			if ((uint32_t)(tag >> 32) != c->gen || c->fd < 0) continue;
			uint32_t ev = evs[e].events;
			if (c->state == S_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
				int err = 0;
				socklen_t el = sizeof err;
				/* a failed connect always raises EPOLLERR: only then is there an error to fetch */
				if (ev & (EPOLLERR | EPOLLHUP)) {
					getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
					if (!err) err = ECONNRESET;
				}
				if (err) {
					fail("connect to %s:%d: %s", opt.host, opt.port, strerror(err));
					c_connect_err++;
					conn_close(c, 0);
					if (opt.mode == M_CONNECT) start_next_connect(c);
					else open_more();
					continue;
				}
				c->state = S_CONNACK;
				c->wblocked = 0;
				flush(c); /* the CONNECT queued at open */
			}
			if (c->fd >= 0 && (ev & EPOLLOUT) && c->wblocked) {
				c->wblocked = 0;
				wake_conn(c);
			}
			if (c->fd >= 0 && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) on_readable(c, now);
		}
		/* writes are batched: everything a connection got during this round goes out in one send */
		for (int i = 0; i < nwake; i++) {
			struct conn *c = wake[i];
			c->woken = 0;
			if (c->fd < 0) continue;
			if (c->role == R_PUB) fill(c);
			if (c->woff < c->wlen) flush(c);
		}
		nwake = 0;

		if (phase == P_SETUP) {
			if (opt.mode == M_IDLE) {
				/* Every connection holds or failed, or the broker stopped answering (out of
				 * descriptors, it may leave connections unaccepted): hold what there is, so that the
				 * harness can read the broker's memory for the count reached. */
				int settled = (uint64_t)ready_subs + c_closed + c_connect_err >= (uint64_t)nconns;
				int stuck = ready_subs > 0 && (now > setup_deadline || now - t_last_connack > 5000000000ull);
				if (ready_subs == 0 && (settled || now > setup_deadline)) {
					if (!errbuf[0]) fail("no connection got a CONNACK");
					break;
				}
				if (settled || stuck) {
					if (ready_subs < nconns) fail("%d of %d connections got a CONNACK", ready_subs, nconns);
					t_ready = now;
					fprintf(stderr, "ready %d\n", ready_subs);
					/* the hold is measured from here; the broker's RSS is read by the harness */
					phase = P_MEASURE;
					t_mstart = now;
					cpu_mstart = cpu_seconds();
					user_mstart = cpu_user();
				}
			} else if (ready_subs == nsubs && ready_pubs == npubs) {
				t_traffic = now;
				t_ready = now;
				phase = P_WARMUP;
				if (opt.mode == M_LATENCY) {
					tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
					/* fires at the message period (at most every 100 us), each tick sends what is due */
					uint64_t period = (uint64_t)(1e9 / opt.rate);
					if (period < 100000) period = 100000;
					struct itimerspec its = { .it_interval = { (time_t)(period / 1000000000ull), (long)(period % 1000000000ull) } };
					its.it_value = its.it_interval;
					timerfd_settime(tfd, 0, &its, NULL);
					struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TIMER_TAG };
					epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
				} else {
					for (int i = 0; i < npubs; i++) {
						pubs[i]->progress_ns = now;
						fill(pubs[i]);
					}
				}
			}
			if (phase == P_SETUP && opt.mode != M_IDLE && (now > setup_deadline || errbuf[0])) {
				if (!errbuf[0]) fail("setup timed out: %d of %d connections ready", ready_subs + ready_pubs, nconns);
				break;
			}
		}
		if (phase == P_WARMUP && now - t_traffic >= (uint64_t)(opt.warmup * 1e9)) begin_measure(now);
		if (phase == P_MEASURE && opt.mode != M_IDLE && now - t_mstart >= (uint64_t)(opt.seconds * 1e9)) {
			end_measure(now);
			if (opt.mode == M_CONNECT) break;
			drain_deadline = now + 2000000000ull;
		}
		/* Publishing has stopped: what is in flight is received before the sockets close, so the
		 * broker is left idle for the next run, not with queues to throw away (aedes 1.2 can
		 * overflow its stack draining thousands of queued messages to closed clients). */
		if (phase == P_DONE && (drained() || now > drain_deadline)) break;
		if (phase == P_MEASURE && opt.mode == M_IDLE && now - t_mstart >= (uint64_t)(opt.seconds * 1e9)) break;
		/* A subscriber only receives: without PINGREQ a broker would drop it after 1.5 keepalives. */
		if (opt.keepalive && now - last_ping >= (uint64_t)opt.keepalive * 500000000ull) {
			last_ping = now;
			for (int i = 0; i < nconns; i++) {
				struct conn *c = &conns[i];
				if (c->fd < 0 || (c->state != S_SUBACK && c->state != S_READY)) continue;
				put_small(c, 0xC0, 0, 0);
				wake_conn(c);
			}
		}
		if (traffic_on() && now - last_stall_check >= 100000000ull) {
			last_stall_check = now;
			check_stalls(now);
		}
		/* a publisher or subscriber that the broker dropped makes the figures meaningless */
		if (c_closed && opt.mode != M_CONNECT && opt.mode != M_IDLE) break;
		if (opt.mode == M_CONNECT && c_connect_err > 1000) break;
	}
	uint64_t now = now_ns();
	if (opt.mode == M_IDLE && t_mstart) {
		/* holding ends by time or by the harness's SIGTERM, both as intended */
		phase = P_DONE;
		completed = 1;
		t_mend = now;
		cpu_mend = cpu_seconds();
		user_mend = cpu_user();
	} else if (phase == P_MEASURE) {
		end_measure(now); /* stopped early (signal or error): the part that ran, marked not ok */
		completed = 0;
	}
	if (!completed && !errbuf[0]) fail(stop_flag ? "stopped by a signal before the end" : "stopped before the end");
	print_json();
	/* a clean DISCONNECT for every connection, then close */
	for (int i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		if (c->fd < 0) continue;
		if (c->state == S_READY || c->state == S_SUBACK) {
			uint8_t d[2] = { 0xE0, 0 };
			(void)!send(c->fd, d, 2, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		close(c->fd);
	}
	return completed ? 0 : 1;
}
