/*
 * Fast path of bin/emqx_ctl: find the node's control socket through the pointer the daemon left
 * (see src/ctl/pointer.ts), send the arguments, copy the reply to stdout (and the node's hint
 * lines to stderr), exit with the node's exit code. It never interprets a command: the daemon renders every output.
 *
 * Whenever the node cannot be found or reached before the request is sent, it execs the Node.js
 * client (node build/cli/main.js ctl ...), which resolves the configuration fully and prints the
 * right message. Wire format and key derivation: src/ctl/protocol.ts and src/ctl/pointer.ts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_BODY (64 * 1024)
/* A command such as `cluster join` may legitimately take a while; never wait forever.
 * A ping is answered at once by a healthy node: a hung one is reported quickly. */
#define REPLY_TIMEOUT_S 120
#define PING_TIMEOUT_S 10

static const char *const SELECTOR_VARS[] = {"EMQX_NODE__NAME", "EMQX_NODE_NAME", "EMQX_NODE__DATA_DIR"};

static uint64_t fnv1a64(const unsigned char *p, size_t n, uint64_t h) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int root_dir(char *out, size_t cap) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    /* <root>/build/emqx_ctl → <root> */
    for (int i = 0; i < 2; i++) {
        char *slash = strrchr(exe, '/');
        if (!slash) return -1;
        *slash = '\0';
    }
    if (snprintf(out, cap, "%s", exe[0] ? exe : "/") >= (int)cap) return -1;
    return 0;
}

static void fallback(const char *root, int argc, char **argv, int ping) {
    char main_js[PATH_MAX];
    if (snprintf(main_js, sizeof main_js, "%s/build/cli/main.js", root) >= (int)sizeof main_js) _exit(1);
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (!args) _exit(1);
    int k = 0;
    args[k++] = "node";
    args[k++] = main_js;
    if (ping) {
        args[k++] = "ping";
    } else {
        args[k++] = "ctl";
        for (int i = 1; i < argc; i++) args[k++] = argv[i];
    }
    args[k] = NULL;
    execvp("node", args);
    fprintf(stderr, "emqx_ctl: cannot run node (%s); is Node.js installed and on PATH?\n", strerror(errno));
    _exit(1);
}

/* The pointer key (16 hex digits) of this environment, sent with the request so that a node
 * that is not the one we mean (a stale pointer) can say so instead of answering. */
static char pointer_key[17];

/* Fills `link` with the pointer's path; -1 when no usable pointer directory exists. */
static int pointer_path(const char *root, char *link, size_t cap) {
    char etc[PATH_MAX], resolved[PATH_MAX];
    const char *env_etc = getenv("EMQX_ETC_DIR");
    if (env_etc && *env_etc == '/') {
        snprintf(etc, sizeof etc, "%s", env_etc);
    } else if (env_etc && *env_etc) {
        /* Relative to the install root, as the configuration loader reads it. */
        if (snprintf(etc, sizeof etc, "%s/%s", root, env_etc) >= (int)sizeof etc) return -1;
    } else if (snprintf(etc, sizeof etc, "%s/etc", root) >= (int)sizeof etc) {
        return -1;
    }
    if (!realpath(etc, resolved)) return -1;

    uint64_t h = 0xcbf29ce484222325ULL;
    h = fnv1a64((const unsigned char *)resolved, strlen(resolved), h);
    for (size_t i = 0; i < sizeof SELECTOR_VARS / sizeof *SELECTOR_VARS; i++) {
        const char *v = getenv(SELECTOR_VARS[i]);
        h = fnv1a64((const unsigned char *)"", 1, h); /* the NUL separator */
        if (v) h = fnv1a64((const unsigned char *)v, strlen(v), h);
    }

    const char *base = getenv("XDG_RUNTIME_DIR");
    if (!base || !*base) base = "/tmp";
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/emqx-ctl-%u", base, (unsigned)getuid()) >= (int)sizeof dir) return -1;
    snprintf(pointer_key, sizeof pointer_key, "%016llx", (unsigned long long)h);
    if (snprintf(link, cap, "%s/%s", dir, pointer_key) >= (int)cap) return -1;
    struct stat st;
    /* Only trust a private directory of our own: anything else could redirect us. */
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 077) != 0) return -1;
    return 0;
}

/* Returns a connected socket, or -1 when the node cannot be found or reached this way. */
static int connect_via_pointer(const char *root) {
    char link[PATH_MAX + 64];
    if (pointer_path(root, link, sizeof link) != 0) return -1;

    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    ssize_t n = readlink(link, addr.sun_path, sizeof addr.sun_path - 1);
    if (n <= 0 || (size_t)n >= sizeof addr.sun_path - 1) return -1;
    addr.sun_path[n] = '\0';

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* sock: a socket, written with MSG_NOSIGNAL so a node that hangs up cannot kill us with SIGPIPE. */
static int write_all(int fd, const void *buf, size_t n, int sock) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copies reply bytes out: all to stdout, or for a split reply the first out_left to stdout and
 * the rest to stderr. */
static int deliver(const char *p, size_t n, int split, uint64_t *out_left) {
    size_t to_out = split ? (n < *out_left ? n : (size_t)*out_left) : n;
    if (to_out > 0 && write_all(STDOUT_FILENO, p, to_out, 0) != 0) return -1;
    if (split) *out_left -= to_out;
    if (n > to_out && write_all(STDERR_FILENO, p + to_out, n - to_out, 0) != 0) return -1;
    return 0;
}

int main(int argc, char **argv) {
    char root[PATH_MAX];
    if (root_dir(root, sizeof root) != 0) {
        fprintf(stderr, "emqx_ctl: cannot locate the installation (/proc/self/exe unreadable)\n");
        return 1;
    }
    /* Diagnostics (and the parity test with src/ctl/pointer.ts): where would we look? */
    if (argc == 2 && strcmp(argv[1], "--emqx-where") == 0) {
        char link[PATH_MAX + 64];
        link[0] = '\0';
        int usable = pointer_path(root, link, sizeof link) == 0;
        if (!link[0]) printf("(no pointer: the etc directory does not exist)\n");
        else printf("%s%s\n", link, usable ? "" : " (directory missing or not private)");
        return 0;
    }
    /* bin/emqx's `ping` uses this binary too. */
    int ping = argc == 2 && strcmp(argv[1], "--emqx-ping") == 0;

    size_t body_len = 0;
    if (!ping) {
        for (int i = 1; i < argc; i++) body_len += strlen(argv[i]) + 1;
        if (body_len > MAX_BODY - 17) fallback(root, argc, argv, 0); /* the Node client explains */
    }

    int fd = connect_via_pointer(root);
    if (fd < 0) fallback(root, argc, argv, ping);
    body_len += 17; /* the key and its NUL come first */

    char *req = malloc(9 + body_len);
    if (!req) return 1;
    memcpy(req, "ECTL", 4);
    req[4] = ping ? 'p' : 'c'; /* lower case: keyed request */
    req[5] = (char)(body_len >> 24);
    req[6] = (char)(body_len >> 16);
    req[7] = (char)(body_len >> 8);
    req[8] = (char)body_len;
    size_t off = 9;
    memcpy(req + off, pointer_key, 17);
    off += 17;
    if (!ping) {
        for (int i = 1; i < argc; i++) {
            size_t l = strlen(argv[i]) + 1;
            memcpy(req + off, argv[i], l);
            off += l;
        }
    }
    if (write_all(fd, req, off, 1) != 0) {
        /* Nothing was delivered, so the command did not run: the Node client can retry safely. */
        close(fd);
        fallback(root, argc, argv, ping);
    }
    free(req);
    shutdown(fd, SHUT_WR);

    struct timeval tv = {ping ? PING_TIMEOUT_S : REPLY_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    char buf[65536];
    size_t have = 0;
    int code = -1;
    /* An "ECTE" reply gives the length of its stdout part; what follows goes to stderr. */
    int split = 0;
    uint64_t out_left = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            fprintf(stderr, "Error: no reply from the node: %s\n",
                    errno == EAGAIN || errno == EWOULDBLOCK ? "timed out" : strerror(errno));
            return 1;
        }
        if (r == 0) break;
        have += (size_t)r;
        if (code < 0) {
            if (have >= 4 && memcmp(buf, "ECTM", 4) == 0) {
                /* A stale pointer led to another node, which ran nothing: ask the configured one. */
                close(fd);
                fallback(root, argc, argv, ping);
            }
            if (have < 5) continue;
            if (memcmp(buf, "ECTE", 4) == 0) {
                split = 1;
            } else if (memcmp(buf, "ECTR", 4) != 0) {
                fprintf(stderr, "Error: unexpected reply on the control socket\n");
                return 1;
            }
            if (split && have < 9) continue;
            code = (unsigned char)buf[4];
            size_t off = 5;
            if (split) {
                out_left = ((uint64_t)(unsigned char)buf[5] << 24) | ((uint64_t)(unsigned char)buf[6] << 16) |
                           ((uint64_t)(unsigned char)buf[7] << 8) | (uint64_t)(unsigned char)buf[8];
                off = 9;
            }
            if (deliver(buf + off, have - off, split, &out_left) != 0) return 1;
        } else if (deliver(buf, have, split, &out_left) != 0) {
            return 1;
        }
        have = 0;
    }
    if (code < 0) {
        fprintf(stderr, "Error: the node closed the control connection without replying\n");
        return 1;
    }
    return code;
}
