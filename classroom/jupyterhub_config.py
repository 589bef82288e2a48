"""JupyterHub for the course on one machine: each learner logs in with their own account and password, and their
JupyterLab runs as their own Unix user, in their own home, under limits of their own.

Read classroom/README.md first. Run the hub as root (``sudo``): it starts each learner's server as that learner.
Everything lives in ``CLASSROOM_RUN_DIR`` (default ``/srv/genmodels-classroom``, outside the repository), made by
``classroom/prepare.py`` and ``classroom/accounts.py``:

- ``homes/NAME/``: each learner's home, owned by them, mode 0700; their lessons in ``lessons/``;
- ``data/``: the shared dataset, read-only (``COURSE_DATA_DIR`` of every learner);
- ``student/``: the student version of the lessons, copied into each home by ``lessons.py`` (as the learner);
- ``exchange/``: nbgrader's exchange; ``jupyter/``: the learners' nbgrader settings;
- ``course/`` and ``hub/``: the instructor's nbgrader course and the hub's own files, root only.

Who logs in: PAM, that is the Unix accounts' passwords, restricted to the class's group (``accounts.py`` makes the
accounts and a password for each learner) and the admins in ``CLASSROOM_ADMINS``. The spawner is JupyterHub's
``LocalProcessSpawner``: the server process switches to the learner's user, group and home before it starts.

Limits per learner (``limits.py``): where the machine's cgroup v1 hierarchies are writable, memory, CPU time and
the number of processes of all the learner's processes together, enforced by the kernel; always, a memory limit
per process (``RLIMIT_DATA``: a runaway allocation fails in that kernel with ``MemoryError``), one PyTorch and BLAS
thread per kernel (``OMP_NUM_THREADS=1``) and a lower priority (``nice``). Without cgroups, a watchdog in the hub
stops the largest kernel of a learner whose processes together pass the memory limit.
"""

import os
import pwd
import resource
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from tornado.ioloop import PeriodicCallback

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import limits  # noqa: E402 (classroom/limits.py)
from accounts import GROUP, private_home  # noqa: E402
from lessons import update_learner_async  # noqa: E402

RUN = Path(os.environ.get("CLASSROOM_RUN_DIR", "/srv/genmodels-classroom")).resolve()
DATA = Path(os.environ.get("COURSE_DATA_DIR", RUN / "data"))
STUDENT = RUN / "student"
HUB = RUN / "hub"  # root only: database, cookie secret, proxy pid, passwords
PROCESS_MEM_GB = float(os.environ.get("CLASSROOM_PROCESS_MEM_GB", "3"))  # per process (server, each kernel)
USER_MEM_GB = float(os.environ.get("CLASSROOM_USER_MEM_GB", "4"))  # per learner, all processes together
USER_CPUS = float(os.environ.get("CLASSROOM_USER_CPUS", "1"))  # cores per learner (cgroups only)
USER_TASKS = int(
    os.environ.get("CLASSROOM_USER_TASKS", "1024")
)  # processes and threads per learner (cgroups)
NICE = int(os.environ.get("CLASSROOM_NICE", "5"))
ADMINS = {name for name in os.environ.get("CLASSROOM_ADMINS", "instructor").split(",") if name}
BIN = Path(sys.executable).parent

if os.geteuid() != 0:
    sys.exit("Run the classroom's hub as root: it starts each learner's server as that learner (README).")
CGROUPS = os.environ.get("CLASSROOM_CGROUPS", "1") == "1" and limits.available()


class ClassroomSpawner(LocalProcessSpawner):
    """A learner's server as a local process running as the learner's own Unix user, under their limits."""

    def make_preexec_fn(self, name):
        become_learner = super().make_preexec_fn(name)  # set the user, groups and home (JupyterHub's own)
        cgroups = (
            limits.learner_cgroups(name, int(USER_MEM_GB * 2**30), USER_CPUS, USER_TASKS) if CGROUPS else []
        )

        def preexec():  # runs in the new process, as root, just before the server's program
            for procs in cgroups:
                procs.write_text(str(os.getpid()))  # this process and all it starts: the learner's cgroup
            limit = int(PROCESS_MEM_GB * 2**30)
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))  # inherited by every kernel
            os.nice(NICE)
            become_learner()  # last: after it, the process can no longer leave its cgroup or raise limits

        return preexec

    def user_env(self, env):
        env = super().user_env(env)  # USER, HOME, SHELL of the learner's account
        env.update(
            COURSE_DATA_DIR=str(DATA),
            COURSE_OFFLINE="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            JUPYTER_CONFIG_PATH=str(RUN / "jupyter"),  # the class's nbgrader settings (prepare.py)
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}",
        )
        if os.environ.get("CLASSROOM_FAST", "1") == "1":
            env["COURSE_FAST"] = "1"
        return env


async def before_start(spawner) -> None:
    """Before a learner's server starts: their home (theirs, 0700) and their lessons, new ones and updates
    beside their copies, written by a process running as the learner (lessons.py)."""
    name = spawner.user.name
    private_home(name, Path(pwd.getpwnam(name).pw_dir))
    await update_learner_async(name, STUDENT)


def after_stop(spawner) -> None:
    if CGROUPS:
        limits.remove_learner_cgroups(spawner.user.name)


def memory_watchdog() -> None:
    """Without cgroups: stop the largest kernel of any learner whose processes together use more than USER_MEM_GB."""
    import grp

    import psutil

    learners = {pwd.getpwnam(name).pw_uid: name for name in grp.getgrnam(GROUP).gr_mem}
    by_learner = {}
    for process in psutil.process_iter(["uids", "memory_info", "cmdline"]):
        uid = process.info["uids"].real if process.info["uids"] else None
        if uid in learners and process.info["memory_info"] is not None:
            by_learner.setdefault(learners[uid], []).append(process)
    for name, processes in by_learner.items():
        total = sum(p.info["memory_info"].rss for p in processes)
        kernels = [p for p in processes if "ipykernel_launcher" in " ".join(p.info["cmdline"] or [])]
        if total > USER_MEM_GB * 2**30 and kernels:
            largest = max(kernels, key=lambda p: p.info["memory_info"].rss)
            print(
                f"[classroom] {name} uses {total / 2**30:.1f} GiB: stopping kernel {largest.pid}",
                file=sys.stderr,
            )
            largest.kill()


c = get_config()  # noqa: F821 (JupyterHub provides it)
c.JupyterHub.ip = os.environ.get("CLASSROOM_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("CLASSROOM_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{HUB / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(HUB / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(HUB / "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.command = [str(RUN / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.cleanup_servers = True

# Who may log in: each learner with their own account's password (PAM), only the class's group, and the admins.
# Other logins (NativeAuthenticator, your institution's OAuth, an LMS over LTI 1.3): README.
c.JupyterHub.authenticator_class = os.environ.get("CLASSROOM_AUTHENTICATOR", "pam")
c.PAMAuthenticator.open_sessions = False  # no login sessions to open without systemd-logind
c.LocalAuthenticator.allowed_groups = {GROUP}
c.Authenticator.allowed_users = ADMINS
c.Authenticator.admin_users = ADMINS

c.JupyterHub.spawner_class = ClassroomSpawner
c.Spawner.pre_spawn_hook = before_start
c.Spawner.post_stop_hook = after_stop
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/lessons/00_welcome.ipynb"
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.Spawner.mem_limit = (
    f"{USER_MEM_GB:g}G"  # shown to the learner's server; enforced by cgroups or the watchdog
)
c.Spawner.cpu_limit = USER_CPUS  # enforced by cgroups where available
c.JupyterHub.concurrent_spawn_limit = int(os.environ.get("CLASSROOM_CONCURRENT_SPAWNS", "20"))

# The load test (classroom/loadtest.py) plays the instructor through the Hub's API as a service with this token.
if os.environ.get("CLASSROOM_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "loadtest", "api_token": os.environ["CLASSROOM_SERVICE_TOKEN"]}]
    c.JupyterHub.load_roles = [
        {
            "name": "loadtest",
            "scopes": ["admin:users", "admin:servers", "access:servers", "tokens", "list:users"],
            "services": ["loadtest"],
        }
    ]

if not CGROUPS:
    PeriodicCallback(memory_watchdog, 5000).start()
