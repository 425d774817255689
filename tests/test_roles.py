"""三员分立: the system, security and audit admin roles are never held by one person."""

import pytest

from app.extensions import db
from app.models import Membership, Role, SeparationOfDutiesError


@pytest.mark.parametrize(("held", "granted"), [
    ("ja-admin", Role.AUDIT_ADMIN),
    ("ja-auditor", Role.SECURITY_ADMIN),
    ("ja-secadmin", Role.ADMIN),
])
def test_a_second_admin_role_is_refused(ctx, district, held, granted):
    user = district.user(held)
    user.memberships.append(Membership(org_unit=district.unit("JA"), role=granted))
    with pytest.raises(SeparationOfDutiesError, match="三员分立"):
        db.session.flush()
    db.session.rollback()


def test_an_admin_may_also_hold_ordinary_roles(ctx, district):
    user = district.user("ja-admin")
    user.memberships.append(Membership(org_unit=district.unit("JA01"), role=Role.OPERATOR))
    db.session.commit()
    assert user.roles == {Role.ADMIN, Role.OPERATOR}
