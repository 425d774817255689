"""`flask toolbox rotate-keys`, `grant-role`, `revoke-role`: keys and the first administrator.

A fresh production database has no demo staff: `grant-role` makes its first security admin (who
then manages people over the API), each grant and revocation audited, 三员分立 enforced.
"""

from __future__ import annotations

import getpass
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.cli_progress import follow_job
from app.extensions import db
from app.models.org import OrgUnit
from app.models.users import SEPARATED_ADMIN_ROLES, Membership, Role, User
from app.services import audit
from app.services.directory import separated_roles_held
from app.services.key_rotation import rotate, rotate_keys_job
from app.services.redis_conn import get_redis

ROLES = [r.value for r in Role]


def _operator() -> str:
    """Who ran the command, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


# --- keys ----------------------------------------------------------------------------------------

def register(group: click.Group) -> None:
    for command in (rotate_keys_command, grant_role_command, revoke_role_command):
        group.add_command(command)


@click.command("rotate-keys")
@with_appcontext
@click.option("--inline", is_flag=True, help="Run in this process instead of as a job (the default without Redis).")
@click.option("--no-wait", is_flag=True, help="Queue the job and exit without following it.")
def rotate_keys_command(inline: bool, no_wait: bool):
    """Re-encrypt every personal field with the newest of FIELD_ENCRYPTION_KEYS, as a job with progress."""
    if inline or get_redis() is None:
        with click.progressbar(length=1, label="rotate-keys", show_pos=True) as bar:
            report = rotate(progress=lambda p: _advance(bar, p), actor=_operator())
        _rotation_summary(report)
        return
    queued = rotate_keys_job.delay()
    click.echo(f"queued rotate-keys job {queued.id} on queue 'default'")
    if no_wait:
        return
    _rotation_summary(follow_job(queued, "rotate-keys", _advance))


def _advance(bar, progress: dict) -> None:
    bar.length = max(progress["total"], progress["done"], 1)
    bar.label = f"rotate-keys {progress['column']}"
    bar.update(progress["done"] - bar.pos)


def _rotation_summary(report: dict) -> None:
    for column, counts in report["columns"].items():
        click.echo(f"{column}: {counts['rotated']} re-encrypted, {counts['current']} already current, "
                   f"{counts['unreadable']} unreadable")
    click.echo(f"rotate-keys finished: {report['rotated']} re-encrypted, {report['current']} already current, "
               f"{report['unreadable']} unreadable")
    if report["unreadable"]:
        click.echo("some values no configured key decrypts: keep the key they were written with in "
                   "FIELD_ENCRYPTION_KEYS and run again", err=True)
        sys.exit(1)


# --- roles ---------------------------------------------------------------------------------------

def _unit(code: str) -> OrgUnit:
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise click.ClickException(f"no org unit with code {code!r} (run `flask toolbox seed --no-demo-users` first)")
    return unit


def _user(userid: str) -> User | None:
    return db.session.execute(select(User).where(User.wecom_userid == userid)).scalar_one_or_none()


@click.command("grant-role")
@with_appcontext
@click.argument("userid")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--unit", "unit_code", required=True, help="org unit code, e.g. JA (the district) or JA01")
@click.option("--name", help="create the user with this name if they are not in the directory yet")
def grant_role_command(userid: str, role: str, unit_code: str, name: str | None):
    """Give USERID the ROLE at a unit (audited; 三员分立: never two of admin, security_admin, audit_admin)."""
    unit = _unit(unit_code)
    user = _user(userid)
    created = False
    if user is None:
        if not name:
            raise click.ClickException(f"no user {userid!r}: run `flask toolbox sync-directory` first, or pass "
                                       "--name to add them")
        user = User(wecom_userid=userid, name=name, active=True, origin="cli")
        db.session.add(user)
        created = True
    if any(m.org_unit_id == unit.id and m.role == role for m in user.memberships):
        click.echo(f"{userid} already holds {role} at {unit.code} {unit.name}")
        return
    held = separated_roles_held([*(m.role for m in user.memberships), role])
    if len(held) > 1:
        db.session.rollback()
        audit.record("directory.role.grant", target_type="user", target_id=userid, actor=_operator(),
                     outcome="denied", detail={"userid": userid, "role": role, "unit": unit.code,
                                               "reason": "separated_roles", "roles": sorted(held)})
        db.session.commit()
        raise click.ClickException(f"三员分立: {userid} would hold {', '.join(sorted(held))}; one person may hold "
                                   "only one of admin, security_admin and audit_admin")
    user.memberships.append(Membership(org_unit=unit, role=role))
    db.session.flush()
    audit.record("directory.role.grant", target_type="user", target_id=user.id, actor=_operator(),
                 detail={"userid": userid, "role": role, "unit": unit.code, "created_user": created})
    db.session.commit()
    click.echo(f"{userid} now holds {role} at {unit.code} {unit.name}" + (" (user created)" if created else ""))


@click.command("revoke-role")
@with_appcontext
@click.argument("userid")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--unit", "unit_code", help="only at this unit (default: wherever they hold the role)")
def revoke_role_command(userid: str, role: str, unit_code: str | None):
    """Take ROLE away from USERID (audited)."""
    user = _user(userid)
    if user is None:
        raise click.ClickException(f"no user {userid!r}")
    unit = _unit(unit_code) if unit_code else None
    gone = [m for m in user.memberships if m.role == role and (unit is None or m.org_unit_id == unit.id)]
    if not gone:
        raise click.ClickException(f"{userid} holds no {role}" + (f" at {unit.code}" if unit else ""))
    for m in gone:
        user.memberships.remove(m)
    codes = [m.org_unit.code for m in gone]
    db.session.flush()
    audit.record("directory.role.revoke", target_type="user", target_id=user.id, actor=_operator(),
                 detail={"userid": userid, "role": role, "units": codes})
    db.session.commit()
    click.echo(f"{userid} no longer holds {role} at {', '.join(codes)}")
    if role in SEPARATED_ADMIN_ROLES and not _someone_holds(role):
        click.echo(f"warning: nobody holds {role} any more; grant it to someone with `flask toolbox grant-role`",
                   err=True)


def _someone_holds(role: str) -> bool:
    return db.session.execute(select(Membership.id).join(User).where(
        Membership.role == role, User.active.is_(True)).limit(1)).first() is not None
