#define _GNU_SOURCE
#include "CLinuxShim.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <netinet/tcp.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int kg_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int kg_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int kg_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n;
    do { n = epoll_wait(epfd, evs, max, timeout_ms); } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) { datas[i] = evs[i].data.u64; events[i] = evs[i].events; }
    return n;
}

int kg_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
int kg_eventfd_signal(int fd) { uint64_t one = 1; return (int)write(fd, &one, sizeof one); }
int kg_eventfd_drain(int fd) { uint64_t v; return (int)read(fd, &v, sizeof v); }

int kg_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int kg_signalfd_block(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int kg_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return -1;
    return (int)info.ssi_signo;
}

int kg_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int kg_accept4(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int kg_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int kg_set_nodelay(int fd) {
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int kg_stream_socket(int family) { return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

int kg_connect_inet(int fd, int family, const char *host, uint16_t port) {
    if (family == AF_INET) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { errno = EINVAL; return -1; }
        return connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 a;
        memset(&a, 0, sizeof a);
        a.sin6_family = AF_INET6;
        a.sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a.sin6_addr) != 1) { errno = EINVAL; return -1; }
        return connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    errno = EAFNOSUPPORT;
    return -1;
}

int kg_connect_unix(int fd, const char *path) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t length = strlen(path);
    if (length == 0) { errno = EINVAL; return -1; }
    if (length >= sizeof a.sun_path) { errno = ENAMETOOLONG; return -1; }
    memcpy(a.sun_path, path, length);
    return connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + length + 1));
}

long long kg_peer_uid(int fd) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return (long long)credentials.uid;
}

int kg_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
    return error;
}

static int spawn_plain(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd, pid_t *pid) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    int rc = posix_spawnattr_init(&attr);
    if (rc != 0) return rc;
    rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) { posix_spawnattr_destroy(&attr); return rc; }

    sigset_t empty, defaults;
    sigemptyset(&empty);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGCHLD);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0) posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    if (err_fd >= 0) posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    rc = posix_spawn(pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
}

/* --- fork+execve path: a child that runs as another account or joins cgroups ------------------------------- */

/* What a failed child writes to the status pipe before _exit(127). */
struct spawn_failure {
    int step;
    int err;
};

/* Raw syscalls for the credential changes: glibc's wrappers broadcast set*id to every thread through signals and
   locks (nptl setxid), state that is not trustworthy in a forked child of a multi-threaded process. The child has one
   thread, and Linux credentials are per thread, so the bare syscall is exactly right. */
#ifdef SYS_setresuid32
#define KG_SYS_SETRESUID SYS_setresuid32
#define KG_SYS_SETRESGID SYS_setresgid32
#define KG_SYS_SETGROUPS SYS_setgroups32
#else
#define KG_SYS_SETRESUID SYS_setresuid
#define KG_SYS_SETRESGID SYS_setresgid
#define KG_SYS_SETGROUPS SYS_setgroups
#endif

/* Child only: report `step` and errno through the pipe, then leave without running any parent cleanup. */
static void child_fail(int status_fd, int step, int err) {
    struct spawn_failure record = { step, err != 0 ? err : EINVAL };
    const char *bytes = (const char *)&record;
    size_t left = sizeof record;
    while (left > 0) {
        ssize_t n = write(status_fd, bytes, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        bytes += n;
        left -= (size_t)n;
    }
    _exit(127);
}

/* Child only: make `fd` the descriptor `target` without close-on-exec (dup2 onto itself keeps the flag). */
static int child_dup_to(int fd, int target) {
    if (fd == target) {
        int flags = fcntl(fd, F_GETFD);
        return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return dup2(fd, target) < 0 ? -1 : 0;
}

/* Child only: close every descriptor from 3 up, except `keep` (which is >= 3). */
static int child_close_above_stdio(int keep, int fallback_limit) {
    if ((keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0) && close_range((unsigned)keep + 1, ~0U, 0) == 0)
        return 0;
    if (errno != ENOSYS && errno != EINVAL) return -1;
    /* Kernels before 5.9: close one by one up to the descriptor limit the parent read. */
    for (int fd = 3; fd < fallback_limit; fd++) {
        if (fd != keep) close(fd);
    }
    return 0;
}

/* Child only: write "0" (the writing process) into each `cgroup.procs` file of the NULL-terminated list. */
static int child_join_cgroups(const char *const *procs) {
    for (; procs != NULL && *procs != NULL; procs++) {
        int fd = open(*procs, O_WRONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        ssize_t n = write(fd, "0", 1);
        int err = errno;
        close(fd);
        if (n != 1) {
            errno = n < 0 ? err : EIO;
            return -1;
        }
    }
    return 0;
}

/* Runs in the forked child: only async-signal-safe calls, no allocation, no locks. Never returns.
   `status_fd` is >= 3 and close-on-exec. `id` NULL keeps the parent's credentials. */
static void child_start(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
                        const struct kg_spawn_identity *id, const char *const *cgroup_procs, int status_fd,
                        int fd_limit) {
    if (setpgid(0, 0) != 0) child_fail(status_fd, KG_SPAWN_STEP_SETPGID, errno);
    /* First: nothing of the program may run, and nothing may fork, outside its cgroups. */
    if (child_join_cgroups(cgroup_procs) != 0) child_fail(status_fd, KG_SPAWN_STEP_CGROUP, errno);

    /* Handlers of the parent must not run here, and these five must not stay ignored (the set the posix_spawn path resets). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    const int defaults[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        if (sigaction(defaults[i], &dfl, NULL) != 0) child_fail(status_fd, KG_SPAWN_STEP_SIGNALS, errno);
    }
    for (int sig = 1; sig < _NSIG; sig++) {
        struct sigaction current;
        /* Fails only for the signals glibc reserves for itself: nothing to reset there. */
        if (sigaction(sig, NULL, &current) != 0) continue;
        if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) sigaction(sig, &dfl, NULL);
    }
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    for (int i = 0; id != NULL && i < id->ignored_count; i++) {
        if (sigaction(id->ignored_signals[i], &ign, NULL) != 0) child_fail(status_fd, KG_SPAWN_STEP_SIGNALS, errno);
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) child_fail(status_fd, KG_SPAWN_STEP_SIGNALS, errno);

    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || child_dup_to(null_fd, 0) != 0) child_fail(status_fd, KG_SPAWN_STEP_STDIN, errno);
    if (null_fd > 2) close(null_fd);
    if (out_fd >= 0 && child_dup_to(out_fd, 1) != 0) child_fail(status_fd, KG_SPAWN_STEP_STDOUT, errno);
    if (err_fd >= 0 && child_dup_to(err_fd, 2) != 0) child_fail(status_fd, KG_SPAWN_STEP_STDERR, errno);
    if (child_close_above_stdio(status_fd, fd_limit) != 0) child_fail(status_fd, KG_SPAWN_STEP_CLOSE_FDS, errno);

    if (id == NULL) {
        execve(path, argv, envp);
        child_fail(status_fd, KG_SPAWN_STEP_EXECVE, errno);
    }

    if (id->new_network_namespace) {
        if (unshare(CLONE_NEWNET) != 0) child_fail(status_fd, KG_SPAWN_STEP_NETNS, errno);
        /* A new namespace's loopback is down; programs (ipykernel's fork pipe) expect 127.0.0.1 to work. */
        int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0) child_fail(status_fd, KG_SPAWN_STEP_NETNS, errno);
        struct ifreq request;
        memset(&request, 0, sizeof request);
        memcpy(request.ifr_name, "lo", 3);
        if (ioctl(sock, SIOCGIFFLAGS, &request) != 0) child_fail(status_fd, KG_SPAWN_STEP_NETNS, errno);
        request.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(sock, SIOCSIFFLAGS, &request) != 0) child_fail(status_fd, KG_SPAWN_STEP_NETNS, errno);
        close(sock);
    }

    /* Groups first and uid last: each earlier step needs the privilege the uid switch gives up. A non-root caller
       that asks for its own ids has nothing to switch (and could not call setgroups). */
    int same_account = geteuid() != 0 && geteuid() == id->uid && getuid() == id->uid
        && getegid() == id->gid && getgid() == id->gid;
    if (!same_account) {
        if (syscall(KG_SYS_SETGROUPS, (long)id->group_count, id->groups) != 0)
            child_fail(status_fd, KG_SPAWN_STEP_SETGROUPS, errno);
        if (syscall(KG_SYS_SETRESGID, (long)id->gid, (long)id->gid, (long)id->gid) != 0)
            child_fail(status_fd, KG_SPAWN_STEP_SETRESGID, errno);
        if (syscall(KG_SYS_SETRESUID, (long)id->uid, (long)id->uid, (long)id->uid) != 0)
            child_fail(status_fd, KG_SPAWN_STEP_SETRESUID, errno);
    }

    /* Trust nothing: read the ids back, and make sure root cannot be regained (a parent running with CAP_SETUID as
       a non-root user, or with securebits that keep capabilities, would still be able to). */
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0)
        child_fail(status_fd, KG_SPAWN_STEP_VERIFY_IDS, errno);
    if (ruid != id->uid || euid != id->uid || suid != id->uid || rgid != id->gid || egid != id->gid || sgid != id->gid
        || getuid() != id->uid || geteuid() != id->uid)
        child_fail(status_fd, KG_SPAWN_STEP_VERIFY_IDS, EPERM);
    if (id->uid != 0 && syscall(KG_SYS_SETRESUID, (long)(uid_t)-1, 0L, (long)(uid_t)-1) == 0)
        child_fail(status_fd, KG_SPAWN_STEP_VERIFY_IDS, EPERM);
    if (id->gid != 0 && syscall(KG_SYS_SETRESGID, (long)(gid_t)-1, 0L, (long)(gid_t)-1) == 0)
        child_fail(status_fd, KG_SPAWN_STEP_VERIFY_IDS, EPERM);

    if (id->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        child_fail(status_fd, KG_SPAWN_STEP_NO_NEW_PRIVS, errno);
    umask(id->umask);
    if (id->cwd != NULL && chdir(id->cwd) != 0) child_fail(status_fd, KG_SPAWN_STEP_CHDIR, errno);

    execve(path, argv, envp);
    child_fail(status_fd, KG_SPAWN_STEP_EXECVE, errno);
}

/* Waits for `pid` to end, retrying on EINTR; used on failure paths so no zombie stays behind. */
static void reap_blocking(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}

static int spawn_forked(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
                        const struct kg_spawn_identity *identity, const char *const *cgroup_procs, pid_t *pid,
                        int *step) {
    int status_pipe[2];
    if (pipe2(status_pipe, O_CLOEXEC) != 0) { *step = KG_SPAWN_STEP_PIPE; return errno; }
    /* With stdio closed in this process the pipe can land on 0-2, where the child's stdio set-up would overwrite
       it; move such ends above 2 here, where failing is still reportable. */
    for (int i = 0; i < 2; i++) {
        if (status_pipe[i] > 2) continue;
        int moved = fcntl(status_pipe[i], F_DUPFD_CLOEXEC, 3);
        int err = errno;
        close(status_pipe[i]);
        if (moved < 0) {
            close(status_pipe[1 - i]);
            *step = KG_SPAWN_STEP_PIPE;
            return err;
        }
        status_pipe[i] = moved;
    }

    /* Read before fork: getrlimit is not async-signal-safe. Only used when close_range is missing. */
    int fd_limit = 65536;
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < 65536)
        fd_limit = (int)nofile.rlim_cur;

    /* Block everything across fork so no parent handler runs in the child before it resets dispositions. */
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    pid_t child = fork();
    if (child == 0) {
        close(status_pipe[0]);
        child_start(path, argv, envp, out_fd, err_fd, identity, cgroup_procs, status_pipe[1], fd_limit);
    }
    int fork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    close(status_pipe[1]);
    if (child < 0) {
        close(status_pipe[0]);
        *step = KG_SPAWN_STEP_FORK;
        return fork_errno;
    }

    /* EOF: the write end closed on exec (close-on-exec). A record: the child failed and is exiting. */
    struct spawn_failure record;
    size_t got = 0;
    int read_errno = 0;
    while (got < sizeof record) {
        ssize_t n = read(status_pipe[0], (char *)&record + got, sizeof record - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            read_errno = errno;
            break;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    close(status_pipe[0]);

    if (got == 0 && read_errno == 0) {
        *pid = child;
        return 0;
    }
    if (got == sizeof record) {
        reap_blocking(child);
        *step = record.step;
        return record.err != 0 ? record.err : EIO;  /* never "success" without a pid */
    }
    /* Unreadable or torn record: the child's state is unknown, so stop it rather than report a half-started one. */
    kill(child, SIGKILL);
    reap_blocking(child);
    *step = KG_SPAWN_STEP_REPORT;
    return read_errno != 0 ? read_errno : EIO;
}

int kg_spawn(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
             const struct kg_spawn_identity *identity, const char *const *cgroup_procs, pid_t *pid,
             enum kg_spawn_step *failed_step) {
    int step = KG_SPAWN_STEP_NONE;
    int rc;
    if (identity == NULL && (cgroup_procs == NULL || *cgroup_procs == NULL)) {
        rc = spawn_plain(path, argv, envp, out_fd, err_fd, pid);
        if (rc != 0) step = KG_SPAWN_STEP_POSIX_SPAWN;
    } else {
        rc = spawn_forked(path, argv, envp, out_fd, err_fd, identity, cgroup_procs, pid, &step);
    }
    if (failed_step != NULL) *failed_step = rc == 0 ? KG_SPAWN_STEP_NONE : (enum kg_spawn_step)step;
    return rc;
}

const char *kg_spawn_step_name(enum kg_spawn_step step) {
    switch (step) {
    case KG_SPAWN_STEP_NONE: return "none";
    case KG_SPAWN_STEP_POSIX_SPAWN: return "posix_spawn";
    case KG_SPAWN_STEP_PIPE: return "pipe2";
    case KG_SPAWN_STEP_FORK: return "fork";
    case KG_SPAWN_STEP_REPORT: return "read child status";
    case KG_SPAWN_STEP_SETPGID: return "setpgid";
    case KG_SPAWN_STEP_CGROUP: return "join cgroup";
    case KG_SPAWN_STEP_SIGNALS: return "reset signals";
    case KG_SPAWN_STEP_STDIN: return "open /dev/null as stdin";
    case KG_SPAWN_STEP_STDOUT: return "dup2 stdout";
    case KG_SPAWN_STEP_STDERR: return "dup2 stderr";
    case KG_SPAWN_STEP_CLOSE_FDS: return "close descriptors";
    case KG_SPAWN_STEP_NETNS: return "new network namespace";
    case KG_SPAWN_STEP_SETGROUPS: return "setgroups";
    case KG_SPAWN_STEP_SETRESGID: return "setresgid";
    case KG_SPAWN_STEP_SETRESUID: return "setresuid";
    case KG_SPAWN_STEP_VERIFY_IDS: return "verify ids";
    case KG_SPAWN_STEP_NO_NEW_PRIVS: return "prctl(PR_SET_NO_NEW_PRIVS)";
    case KG_SPAWN_STEP_CHDIR: return "chdir";
    case KG_SPAWN_STEP_EXECVE: return "execve";
    }
    return "unknown";
}

int kg_kill_group(pid_t pid, int sig) {
    if (kill(-pid, sig) == 0) return 0;
    return kill(pid, sig);
}

pid_t kg_reap(pid_t pid, int *status) { return waitpid(pid, status, WNOHANG); }
int kg_wifexited(int status) { return WIFEXITED(status); }
int kg_wexitstatus(int status) { return WEXITSTATUS(status); }
int kg_wifsignaled(int status) { return WIFSIGNALED(status); }
int kg_wtermsig(int status) { return WTERMSIG(status); }
