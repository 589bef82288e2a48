"""One Unix account per learner: a private home, a password of their own, membership of the class's group.

    sudo python classroom/accounts.py add alice bob carol           # or: add --class-list class.txt
    sudo python classroom/accounts.py remove alice --delete-home
    sudo python classroom/accounts.py list

``add`` creates each learner's account (``useradd``) with the home ``CLASSROOM_RUN_DIR/homes/NAME``, mode 0700
(nobody else can list, read or write it), in the group ``genmodels-learners`` (the hub lets that group log in),
and sets a new random password for each one (``chpasswd``). The passwords are written to
``CLASSROOM_RUN_DIR/hub/passwords.csv`` (mode 0600, readable by root only) for you to hand out one by one; a
learner changes theirs with ``passwd`` in a JupyterLab terminal. Running ``add`` again for an existing learner sets
a new password and keeps their home as it is. Accounts that exist but are not in the class's group (``root``,
your own, a service's) are refused, never changed.

It also makes the grader's account, ``genmodels-grader`` (no home, no login): the course's grader runs learners'
code as that account, which can read nothing of anyone (``export_grades.py``).

Run it as root: creating accounts and setting passwords needs it.
"""

from __future__ import annotations

import argparse
import csv
import grp
import os
import pwd
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, List

GROUP = os.environ.get("CLASSROOM_GROUP", "genmodels-learners")
GRADER = "genmodels-grader"
NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")  # what useradd accepts everywhere


def default_run_dir() -> Path:
    return Path(os.environ.get("CLASSROOM_RUN_DIR", "/srv/genmodels-classroom"))


def exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def class_members(group: str = GROUP) -> List[str]:
    """The learners' accounts: the members of the class's group."""
    try:
        return sorted(grp.getgrnam(group).gr_mem)
    except KeyError:
        return []


def ensure_group(group: str = GROUP) -> None:
    try:
        grp.getgrnam(group)
    except KeyError:
        subprocess.run(["groupadd", group], check=True)


def ensure_grader_account() -> None:
    """The unprivileged account that runs learners' code while grading: no home, no shell, no group of ours."""
    if not exists(GRADER):
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", GRADER], check=True
        )


def private_home(name: str, home: Path) -> None:
    """The learner's home: theirs, mode 0700 (no one else can list, read or write in it)."""
    user = pwd.getpwnam(name)
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, user.pw_uid, user.pw_gid)
    home.chmod(0o700)


def add_learners(names: Iterable[str], run: Path, group: str = GROUP) -> Dict[str, str]:
    """Create (or re-password) each learner's account; return {name: new password}."""
    names = list(names)
    for name in names:
        if not NAME.match(name):
            raise ValueError(f"{name!r} is not a valid account name (lower-case letters, digits, _ and -)")
        if exists(name) and name not in class_members(group):
            raise ValueError(
                f"the account {name!r} exists and is not a learner of this class; leaving it alone"
            )
    ensure_group(group)
    ensure_grader_account()
    homes = run / "homes"
    homes.mkdir(parents=True, exist_ok=True)
    homes.chmod(0o755)  # anyone may pass through to their own home; each home is 0700
    passwords = {}
    for name in names:
        home = homes / name
        if not exists(name):
            subprocess.run(
                ["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash"]
                + ["--user-group", "--groups", group, name],  # a private group of their own, plus the class's
                check=True,
            )
        private_home(name, home)
        passwords[name] = secrets.token_urlsafe(12)
    lines = "".join(f"{name}:{password}\n" for name, password in passwords.items())
    subprocess.run(["chpasswd"], input=lines, text=True, check=True)
    save_passwords(run, passwords)
    return passwords


def save_passwords(run: Path, passwords: Dict[str, str]) -> Path:
    """Merge ``passwords`` into ``hub/passwords.csv`` (root only, mode 0600): the list you hand out."""
    folder = run / "hub"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / "passwords.csv"
    known = {}
    if path.exists():
        with path.open(newline="") as file:
            known = {row["username"]: row["password"] for row in csv.DictReader(file)}
    known.update(passwords)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["username", "password"])
        writer.writerows(sorted(known.items()))
    return path


def remove_learners(names: Iterable[str], delete_home: bool = False, group: str = GROUP) -> List[str]:
    """Delete learners' accounts (only members of the class's group); their homes too with ``delete_home``."""
    removed = []
    members = set(class_members(group))
    for name in names:
        if name not in members:
            continue
        subprocess.run(
            ["userdel", *(["--remove"] if delete_home else []), name], check=True, capture_output=True
        )  # quiet: it says when a learner had no mail spool
        removed.append(name)
    return removed


def read_names(names: List[str], class_list: Path = None) -> List[str]:
    if class_list:
        names = names + [line.strip() for line in class_list.read_text().splitlines() if line.strip()]
    return names


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-dir", type=Path, default=default_run_dir())
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create learners' accounts (or give them new passwords)")
    add.add_argument("names", nargs="*")
    add.add_argument("--class-list", type=Path, help="a file with one account name a line")
    remove = commands.add_parser("remove", help="delete learners' accounts")
    remove.add_argument("names", nargs="*")
    remove.add_argument("--class-list", type=Path)
    remove.add_argument("--delete-home", action="store_true", help="delete their homes too")
    commands.add_parser("list", help="the learners' accounts")
    args = parser.parse_args(argv)
    if args.command == "list":
        print("\n".join(class_members()))
        return 0
    if os.geteuid() != 0:
        parser.error("run it as root: it creates accounts and sets passwords")
    names = read_names(args.names, args.class_list)
    run = args.run_dir.expanduser().resolve()
    try:
        if args.command == "add":
            add_learners(names, run)
            print(
                f"{len(names)} learner account(s) ready; their passwords are in {run / 'hub' / 'passwords.csv'}"
            )
        else:
            print(f"removed: {', '.join(remove_learners(names, args.delete_home)) or 'none'}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
