#define _GNU_SOURCE
#include "CShims.h"
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <sched.h>
#include <pthread.h>
#include <poll.h>
#include <sys/time.h>

int gh_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
int gh_epoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event ev; memset(&ev, 0, sizeof ev);
    ev.events = events; ev.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &ev);
}
int gh_epoll_wait(int epfd, gh_epoll_ready *out, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n;
    do { n = epoll_wait(epfd, evs, max, timeout_ms); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) { out[i].fd = evs[i].data.fd; out[i].events = evs[i].events; }
    return n;
}
uint32_t gh_EPOLLIN(void) { return EPOLLIN; }
uint32_t gh_EPOLLOUT(void) { return EPOLLOUT; }
uint32_t gh_EPOLLERR(void) { return EPOLLERR; }
uint32_t gh_EPOLLHUP(void) { return EPOLLHUP; }
uint32_t gh_EPOLLRDHUP(void) { return EPOLLRDHUP; }
uint32_t gh_EPOLLET(void) { return EPOLLET; }
int gh_EPOLL_CTL_ADD(void) { return EPOLL_CTL_ADD; }
int gh_EPOLL_CTL_MOD(void) { return EPOLL_CTL_MOD; }
int gh_EPOLL_CTL_DEL(void) { return EPOLL_CTL_DEL; }

int gh_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int gh_listen_tcp(const char *host, int port, int backlog, int reuseport) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC; hints.ai_socktype = SOCK_STREAM; hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portbuf[16]; snprintf(portbuf, sizeof portbuf, "%d", port);
    int rc = getaddrinfo(host, portbuf, &hints, &res);
    if (rc != 0 || !res) { errno = EADDRNOTAVAIL; return -1; }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { freeaddrinfo(res); return -1; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
        int e = errno; close(fd); freeaddrinfo(res); errno = e; return -1;
    }
    freeaddrinfo(res);
    return fd;
}
int gh_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
int gh_set_nodelay(int fd) { int one = 1; return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); }
int gh_local_port(int fd) {
    struct sockaddr_storage ss; socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}
int gh_peer_address(int fd, char *buf, int buflen) {
    struct sockaddr_storage ss; socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    const void *src = ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                                              : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
    return inet_ntop(ss.ss_family, src, buf, (socklen_t)buflen) ? 0 : -1;
}
ssize_t gh_read(int fd, void *buf, size_t n) { ssize_t r; do { r = read(fd, buf, n); } while (r < 0 && errno == EINTR); return r; }
ssize_t gh_write(int fd, const void *buf, size_t n) { ssize_t r; do { r = write(fd, buf, n); } while (r < 0 && errno == EINTR); return r; }
ssize_t gh_send(int fd, const void *buf, size_t n) { ssize_t r; do { r = send(fd, buf, n, MSG_NOSIGNAL); } while (r < 0 && errno == EINTR); return r; }
int gh_close(int fd) { return close(fd); }
int gh_errno(void) { return errno; }
int gh_EAGAIN(void) { return EAGAIN; }
int gh_EINTR(void) { return EINTR; }

static volatile int gh_shutdown_fd = -1;
static volatile sig_atomic_t gh_last_signal = 0;
static void gh_on_shutdown_signal(int sig) {
    int saved = errno;
    gh_last_signal = sig;
    uint64_t one = 1;
    if (gh_shutdown_fd >= 0) { ssize_t r = write(gh_shutdown_fd, &one, sizeof one); (void)r; }
    errno = saved;
}
int gh_install_shutdown_signals(void) {
    signal(SIGPIPE, SIG_IGN);
    if (gh_shutdown_fd < 0) gh_shutdown_fd = eventfd(0, EFD_CLOEXEC);
    if (gh_shutdown_fd < 0) return -1;
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_handler = gh_on_shutdown_signal; sigemptyset(&sa.sa_mask); sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL); sigaction(SIGINT, &sa, NULL);
    /* A parent may have spawned us with these blocked (test runners do); unblock them in this thread so the
       handler can run. Threads started later inherit this mask. */
    sigset_t set; sigemptyset(&set); sigaddset(&set, SIGTERM); sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return gh_shutdown_fd;
}
int gh_wait_shutdown_signal(int efd) {
    uint64_t v; ssize_t r;
    do { r = read(efd, &v, sizeof v); } while (r < 0 && errno == EINTR);
    return (int)gh_last_signal;
}
void gh_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }
int gh_shutdown_write(int fd) { return shutdown(fd, SHUT_WR); }
uint32_t gh_EPOLLEXCLUSIVE(void) { return EPOLLEXCLUSIVE; }
int gh_cpu_count(void) {
    cpu_set_t set; CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

int gh_connect_tcp(const char *host, int port, int connect_timeout_ms, int io_timeout_ms) {
    struct addrinfo hints, *res = NULL, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC; hints.ai_socktype = SOCK_STREAM; hints.ai_flags = AI_NUMERICSERV;
    char portbuf[16]; snprintf(portbuf, sizeof portbuf, "%d", port);
    if (getaddrinfo(host, portbuf, &hints, &res) != 0 || !res) { errno = EHOSTUNREACH; return -1; }
    int last = ECONNREFUSED;
    for (ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) { last = errno; continue; }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc < 0 && errno == EINPROGRESS) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            int n; do { n = poll(&p, 1, connect_timeout_ms); } while (n < 0 && errno == EINTR);
            if (n == 0) { close(fd); last = ETIMEDOUT; continue; }
            int err = 0; socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (n < 0 || err != 0) { close(fd); last = err ? err : errno; continue; }
        } else if (rc < 0) { last = errno; close(fd); continue; }
        int flags = fcntl(fd, F_GETFL, 0);
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        struct timeval tv = { .tv_sec = io_timeout_ms / 1000, .tv_usec = (io_timeout_ms % 1000) * 1000 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        freeaddrinfo(res);
        return fd;
    }
    freeaddrinfo(res);
    errno = last;
    return -1;
}
int gh_readable_now(int fd) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n = poll(&p, 1, 0);
    if (n < 0) return -1;
    if (n == 0) return 0;
    if (p.revents & (POLLHUP | POLLERR)) return -1;
    char c; ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return r > 0 ? 1 : -1;
}

int gh_connect_start(const char *numeric_host, int port) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC; hints.ai_socktype = SOCK_STREAM; hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    char portbuf[16]; snprintf(portbuf, sizeof portbuf, "%d", port);
    if (getaddrinfo(numeric_host, portbuf, &hints, &res) != 0 || !res) { errno = EHOSTUNREACH; return -1; }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { int e = errno; freeaddrinfo(res); errno = e; return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    int e = errno;
    freeaddrinfo(res);
    if (rc < 0 && e != EINPROGRESS) { close(fd); errno = e; return -1; }
    return fd;
}
int gh_socket_error(int fd) {
    int err = 0; socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}
int gh_idle_socket_usable(int fd) {
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
int gh_resolve_numeric(const char *host, char *buf, int buflen) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC; hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) return -1;
    int rc = getnameinfo(res->ai_addr, res->ai_addrlen, buf, buflen, NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(res);
    return rc == 0 ? 0 : -1;
}
