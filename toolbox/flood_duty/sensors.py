"""Water-depth sensors at flood points (物联感知): the rule the integration layer applies to their readings.

A depth at or over the point's threshold for FLOOD_DUTY_SENSOR_SECONDS (default 300) raises the same
escalation as a depth reported by staff — once per episode; the episode ends only when a reading falls
below the threshold minus FLOOD_DUTY_SENSOR_HYSTERESIS_CM (default 3), and that is noted on the item.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app import toolkit as tk
from toolbox.flood_duty.models import CODE, WaterPoint

METRIC = "water_depth"  # in centimetres


def _point(place) -> WaterPoint | None:
    if place is None or place.kind != WaterPoint.place_kind:
        return None
    return tk.db.session.execute(select(WaterPoint).where(WaterPoint.place_code == place.code)).scalar_one_or_none()


def threshold(place) -> float | None:
    point = _point(place)
    return float(point.threshold_cm) if point is not None else None


def on_start(place, episode, value, actor) -> dict:
    """Escalate as a staff report would (the open item of the point gets the reading instead, if there is one)."""
    from toolbox.flood_duty.services import report_depth

    point = _point(place)
    report = report_depth(point, int(round(value)), actor, note="（积水传感器自动上报）")
    return {"point_id": point.id, "work_item_id": report.work_item_id, "work_item_number": report.work_item_number}


def on_end(place, episode, value, actor) -> None:
    """The water went down: record the depth, and note the end of the episode on the item it raised."""
    from toolbox.flood_duty.services import report_depth

    point = _point(place)
    if point is None:
        return
    report_depth(point, int(round(value)), actor, note="（积水传感器：积水已退）")
    item_id = (episode.detail or {}).get("work_item_id")
    if item_id:
        tk.note_work_item(item_id, tool=CODE, actor=actor, reason=f"传感器读数回落至 {value:g} 厘米，积水结束",
                          episode_id=episode.id, peak_cm=episode.peak)


RULE = tk.sensor_rule(tk.ThresholdRule(
    name=f"{CODE}.waterlogging", metric=METRIC, threshold=threshold,
    for_seconds=lambda: float(current_app.config.get("FLOOD_DUTY_SENSOR_SECONDS", 300)),
    hysteresis=lambda: float(current_app.config.get("FLOOD_DUTY_SENSOR_HYSTERESIS_CM", 3)),
    on_start=on_start, on_end=on_end))
