#ifndef CLINUXSHIM_H
#define CLINUXSHIM_H
/// The Linux calls that Glibc's Swift overlay hides or makes awkward: epoll, eventfd, pidfd, signalfd, accept4,
/// and a spawn wrapper that starts a child in its own process group with a clean signal state, optionally as
/// another Unix account.
#include <stdint.h>
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <signal.h>

int kg_epoll_create(void);
int kg_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// Waits for events; fills `fds` and `events` (parallel arrays of capacity `max`). Returns count or -1/errno.
int kg_epoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms);

int kg_eventfd(void);
int kg_eventfd_signal(int fd);
int kg_eventfd_drain(int fd);

/// pidfd_open(2) via syscall (glibc 2.36 has the wrapper, but older headers may not).
int kg_pidfd_open(pid_t pid);

/// Blocks `signals` (array of `count`) in the calling thread (call before starting threads) and returns a
/// non-blocking, close-on-exec signalfd for them.
int kg_signalfd_block(const int *signals, int count);
/// Reads one pending signal number from a signalfd, or -1 when none is pending.
int kg_signalfd_read(int fd);

int kg_accept4(int fd);
/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start. Returns 0 or -1/errno.
int kg_pipe_cloexec(int fds[2]);
int kg_set_nonblocking(int fd);
int kg_set_nodelay(int fd);

/// A non-blocking, close-on-exec stream socket of `family` (AF_INET, AF_INET6, AF_UNIX), or -1/errno.
int kg_stream_socket(int family);
/// Starts connecting `fd` to the numeric address `host` (inet_pton syntax for `family`) and `port`. Returns 0, or
/// -1/errno (EINPROGRESS while a non-blocking connect is under way; EINVAL when `host` does not parse).
int kg_connect_inet(int fd, int family, const char *host, uint16_t port);
/// Starts connecting `fd` to the unix socket at `path`. -1/ENAMETOOLONG when it does not fit sun_path (107 bytes).
int kg_connect_unix(int fd, const char *path);
/// The pending error of a socket (SO_ERROR, e.g. the outcome of a non-blocking connect): 0 or an errno value.
int kg_socket_error(int fd);
/// The uid of the process at the other end of a connected Unix socket (SO_PEERCRED: the peer's credentials
/// when it called listen or connect), or -1 with errno set.
long long kg_peer_uid(int fd);

/// The account a child runs as (see `kg_spawn`). The caller decides policy (uid 0 is not refused here).
struct kg_spawn_identity {
    uid_t uid;
    gid_t gid;
    /// Supplementary groups, exactly these (count 0 clears them); may be NULL when `group_count` is 0.
    const gid_t *groups;
    int group_count;
    mode_t umask;
    /// Entered after the switch, so the account's own permissions apply; NULL keeps the parent's directory.
    const char *cwd;
    /// Nonzero: PR_SET_NO_NEW_PRIVS before exec (setuid binaries and file capabilities no longer elevate).
    int no_new_privs;
    /// Signals set to SIG_IGN (instead of the default) in the child; may be NULL when `ignored_count` is 0.
    const int *ignored_signals;
    int ignored_count;
    /// Nonzero: a new network namespace with only its own loopback interface (up), made before the uid switch
    /// (it needs CAP_SYS_ADMIN and CAP_NET_ADMIN).
    int new_network_namespace;
};

/// The step of `kg_spawn` that failed, for error messages.
enum kg_spawn_step {
    KG_SPAWN_STEP_NONE = 0,
    KG_SPAWN_STEP_POSIX_SPAWN,   ///< the posix_spawn path (no identity): exec or file-action failure
    KG_SPAWN_STEP_PIPE,          ///< parent: creating the status pipe
    KG_SPAWN_STEP_FORK,          ///< parent: fork
    KG_SPAWN_STEP_REPORT,        ///< parent: reading the child's status record
    KG_SPAWN_STEP_SETPGID,
    KG_SPAWN_STEP_CGROUP,        ///< writing the child's pid into one of `cgroup_procs`
    KG_SPAWN_STEP_SIGNALS,       ///< resetting dispositions or unblocking signals
    KG_SPAWN_STEP_STDIN,         ///< opening /dev/null as standard input
    KG_SPAWN_STEP_STDOUT,        ///< dup2(out_fd, 1)
    KG_SPAWN_STEP_STDERR,        ///< dup2(err_fd, 2)
    KG_SPAWN_STEP_CLOSE_FDS,     ///< closing descriptors above 2
    KG_SPAWN_STEP_NETNS,         ///< unshare(CLONE_NEWNET) or bringing its loopback up
    KG_SPAWN_STEP_SETGROUPS,
    KG_SPAWN_STEP_SETRESGID,
    KG_SPAWN_STEP_SETRESUID,
    KG_SPAWN_STEP_VERIFY_IDS,    ///< ids not as requested after the switch, or root still regainable (EPERM)
    KG_SPAWN_STEP_NO_NEW_PRIVS,
    KG_SPAWN_STEP_CHDIR,
    KG_SPAWN_STEP_EXECVE,
};

/// Starts `path` with `argv`/`envp` in a new process group, with signals unblocked, SIGINT SIGTERM SIGHUP SIGPIPE
/// SIGCHLD reset to default, and every descriptor above 2 closed. stdin is /dev/null; stdout/stderr go to
/// `out_fd`/`err_fd` when >= 0 (else inherited). Blocks until the child has called execve (or failed).
///
/// `cgroup_procs`: NULL, or a NULL-terminated list of `cgroup.procs` files (prepared by the caller) that the child
/// writes "0" (itself) into right after setpgid, before anything else and so before exec: the program never runs
/// outside those cgroups, and everything it forks starts inside them.
///
/// `identity` NULL and no cgroups: posix_spawn, the child keeps the caller's credentials. Otherwise fork+execve;
/// with an identity the child (async-signal-safe calls only) also sets supplementary groups, gid, uid (real,
/// effective and saved), checks the switch took effect (a non-root caller asking for its own uid and gid keeps its
/// credentials: it could not call setgroups, and there is nothing to switch), ignores `ignored_signals`, optionally
/// sets no_new_privs, sets the umask and enters `cwd`, in that order; without one it keeps the caller's credentials.
///
/// Returns 0 and sets *pid once the child has reached execve (or was killed by a signal on the way, which its exit
/// status then reports), or an errno value with *failed_step (when not NULL) naming the step; a child that failed
/// has been reaped, so no zombie is left behind.
int kg_spawn(const char *path, char *const argv[], char *const envp[], int out_fd, int err_fd,
             const struct kg_spawn_identity *identity, const char *const *cgroup_procs, pid_t *pid,
             enum kg_spawn_step *failed_step);

/// A short name for a step ("setresuid", "chdir"...), "unknown" for values outside the enum. Static storage.
const char *kg_spawn_step_name(enum kg_spawn_step step);

/// kill(-pgid, sig) for a process group, falling back to the pid itself when the group is gone.
int kg_kill_group(pid_t pid, int sig);

/// Non-blocking reap of one child. Returns pid when reaped (status in *status), 0 when still running, -1 on error.
pid_t kg_reap(pid_t pid, int *status);
int kg_wifexited(int status);
int kg_wexitstatus(int status);
int kg_wifsignaled(int status);
int kg_wtermsig(int status);

#endif
