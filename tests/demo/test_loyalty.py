"""The loyalty demo generator applies the template tiers and moves some points."""

from __future__ import annotations

from sqlalchemy import func, select

from saas import demo
from saas.extensions import db
from saas.models.loyalty import PointsEntry, Redemption, Reward
from saas.models.segments import Segment
from saas.models.tiers import CustomerTier, TierRuleset


def test_generator_applies_tiers_and_gives_points_once(app):
    gens = [g for g in demo.generators() if g.name in ("staff", "customers", "loyalty")]
    assert [g.name for g in gens] == ["staff", "customers", "loyalty"]
    with app.app_context():
        demo.run(db.session, slug="demo-loyal", size=4, only=gens)
        s = db.session

        def count(model):
            return s.scalar(select(func.count()).select_from(model))

        assert count(TierRuleset) == 1 and count(CustomerTier) == 4
        assert count(Reward) == 3 and count(Segment) == 1
        assert count(Redemption) == 3
        assert s.scalar(select(func.count()).select_from(PointsEntry).where(
            PointsEntry.kind == "redeem")) == 3
        demo.run(db.session, slug="demo-loyal", size=4, only=gens)
        assert count(Redemption) == 3 and count(TierRuleset) == 1
        db.session.remove()
