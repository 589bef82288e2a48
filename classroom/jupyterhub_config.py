"""JupyterHub for the course on one machine: every learner gets a JupyterLab server with the course installed.

Read classroom/README.md first. Everything the hub writes goes to ``CLASSROOM_RUN_DIR`` (default
``~/genmodels-classroom``, outside the repository), made by ``python classroom/prepare.py``:

- ``data/``: the shared, read-only dataset folder (``COURSE_DATA_DIR`` of every learner);
- ``student/``: the student version of the lessons, copied into each new home (never over a learner's files);
- ``exchange/``: nbgrader's exchange, where learners hand in and the instructor collects;
- ``homes/<user>/``: each learner's home; ``course/``: the instructor's nbgrader course folder.

Limits per learner (what this file can enforce without root-owned cgroups; see the README for systemd):
- memory: ``RLIMIT_DATA`` on the learner's server and, inherited, on every kernel it starts (per process), plus a
  watchdog in the hub that stops the largest kernel of a learner whose processes together pass
  ``CLASSROOM_USER_MEM_GB``;
- CPU: one thread per kernel for PyTorch and BLAS (``OMP_NUM_THREADS=1``) and a lower priority (``nice``); the
  kernel's scheduler then shares the cores between learners' kernels.
"""

import os
import resource
import shutil
import sys
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner
from tornado.ioloop import PeriodicCallback

HERE = Path(__file__).resolve().parent
RUN = Path(os.environ.get("CLASSROOM_RUN_DIR", Path.home() / "genmodels-classroom")).resolve()
DATA = Path(os.environ.get("COURSE_DATA_DIR", RUN / "data"))
STUDENT = RUN / "student"
EXCHANGE = RUN / "exchange"
HOMES = RUN / "homes"
COURSE_ID = os.environ.get("CLASSROOM_COURSE_ID", "genmodels")
PROCESS_MEM_GB = float(os.environ.get("CLASSROOM_PROCESS_MEM_GB", "3"))  # per process (server, each kernel)
USER_MEM_GB = float(os.environ.get("CLASSROOM_USER_MEM_GB", "4"))  # per learner, all processes together
NICE = int(os.environ.get("CLASSROOM_NICE", "5"))
BIN = Path(sys.executable).parent

NBGRADER_CONFIG = """\
# Written by the classroom's JupyterHub for this learner: where to fetch and hand in.
c = get_config()
c.CourseDirectory.course_id = {course!r}
c.Exchange.root = {exchange!r}
c.CourseDirectory.student_id = {user!r}
"""


class ClassroomSpawner(SimpleLocalProcessSpawner):
    """A learner's server as a local process, with a home of their own, the student notebooks and limits.

    Every server runs as the hub's own Unix user here (that is what makes it runnable in a container and in the
    load test). For a real class give each learner a Unix account (``SystemdSpawner``, README), so that homes
    are private and nbgrader knows who handed in from the account itself.
    """

    def make_preexec_fn(self, name):
        home = self.home_dir

        def preexec():
            os.makedirs(home, 0o700, exist_ok=True)
            os.chdir(home)
            limit = int(PROCESS_MEM_GB * 2**30)
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))  # inherited by every kernel
            os.nice(NICE)

        return preexec

    def user_env(self, env):
        env = super().user_env(env)
        env.update(
            COURSE_DATA_DIR=str(DATA),
            COURSE_OFFLINE="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}",
        )
        if os.environ.get("CLASSROOM_FAST", "1") == "1":
            env["COURSE_FAST"] = "1"
        return env


def starting_files(spawner) -> None:
    """Before a server starts: the student notebooks (only those the learner does not have yet), and the
    learner's nbgrader settings."""
    home = Path(spawner.home_dir)
    (home / ".jupyter").mkdir(parents=True, exist_ok=True)
    for notebook in sorted(STUDENT.glob("[0-9][0-9]_*.ipynb")):
        if not (home / notebook.name).exists():
            shutil.copyfile(notebook, home / notebook.name)
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        NBGRADER_CONFIG.format(course=COURSE_ID, exchange=str(EXCHANGE), user=spawner.user.name)
    )


def memory_watchdog() -> None:
    """Stop the largest kernel of any learner whose processes together use more than USER_MEM_GB."""
    import psutil

    by_user = {}
    for process in psutil.process_iter(["pid", "memory_info", "cmdline"]):
        try:
            user = process.environ().get("JUPYTERHUB_USER")
        except (psutil.Error, OSError):
            continue
        if user and process.info["memory_info"] is not None:
            by_user.setdefault(user, []).append(process)
    for user, processes in by_user.items():
        total = sum(p.info["memory_info"].rss for p in processes)
        if total <= USER_MEM_GB * 2**30:
            continue
        kernels = [p for p in processes if "ipykernel_launcher" in " ".join(p.info["cmdline"] or [])]
        if kernels:
            largest = max(kernels, key=lambda p: p.info["memory_info"].rss)
            print(
                f"[classroom] {user} uses {total / 2**30:.1f} GiB (limit {USER_MEM_GB:g}): stopping kernel "
                f"{largest.pid}",
                file=sys.stderr,
            )
            largest.kill()


c = get_config()  # noqa: F821 (JupyterHub provides it)
c.JupyterHub.ip = os.environ.get("CLASSROOM_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("CLASSROOM_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{RUN / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(RUN / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(RUN / "jupyterhub-proxy.pid")
c.ConfigurableHTTPProxy.command = [str(RUN / "node_modules" / ".bin" / "configurable-http-proxy")]
c.JupyterHub.cleanup_servers = True

# Who may log in. The load test uses the dummy authenticator with one shared password (CLASSROOM_PASSWORD);
# a real class uses accounts (PAM with SystemdSpawner, or an OAuth login: README).
c.JupyterHub.authenticator_class = os.environ.get("CLASSROOM_AUTHENTICATOR", "dummy")
c.DummyAuthenticator.password = os.environ.get("CLASSROOM_PASSWORD", "")
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {"instructor"}

c.JupyterHub.spawner_class = ClassroomSpawner
c.SimpleLocalProcessSpawner.home_dir_template = str(HOMES / "{username}")
c.Spawner.pre_spawn_hook = starting_files
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/00_welcome.ipynb"
if os.geteuid() == 0:  # every server runs as the hub's user: root in a container (see the README)
    c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.Spawner.mem_limit = f"{USER_MEM_GB:g}G"  # shown to the learner's server; enforced by the watchdog above
c.Spawner.cpu_limit = 1.0  # informational here; enforced as one thread per kernel (OMP_NUM_THREADS)
c.JupyterHub.concurrent_spawn_limit = int(os.environ.get("CLASSROOM_CONCURRENT_SPAWNS", "20"))

# The load test (classroom/loadtest.py) talks to the Hub's API as a service with this token.
if os.environ.get("CLASSROOM_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "loadtest", "api_token": os.environ["CLASSROOM_SERVICE_TOKEN"]}]
    c.JupyterHub.load_roles = [
        {
            "name": "loadtest",
            "scopes": ["admin:users", "admin:servers", "access:servers", "tokens", "list:users"],
            "services": ["loadtest"],
        }
    ]

PeriodicCallback(memory_watchdog, 5000).start()
