"""The indicator dictionary (考核指标字典): every figure the assessment shows, as a written definition.

Each indicator says what its numerator and denominator count, on which clock, what is left out and
in which period an item counts (its anchor day, in Beijing time). The figures come from the per-item
facts (facts.py) summed per day (stats_daily); the drill-down uses the same predicates, so a figure
and the items behind it always agree. docs/assessment.md is the same dictionary for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The clock of every limit: working days of the Shanghai calendar (app/services/workdays.py).
CLOCK = "工作日（周一至周五，扣除法定节假日，计入调休上班日；calendar_day 表）"


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    kind: str                 # "rate" (numerator/denominator, %), "count", "average" (sum/count)
    numerator: str            # the measure (a stats_daily column) counted above the line
    denominator: str | None   # the measure below it (None for a count)
    anchor: str               # which day puts an item in a period: received / sign_due / signed / closed / close_due
    definition: str           # numerator / denominator in words
    clock: str = CLOCK
    exclusions: str = ""
    higher_is_better: bool = True

    def period_rule(self) -> str:
        return ANCHORS[self.anchor]

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "kind": self.kind, "definition": self.definition,
                "numerator": self.numerator, "denominator": self.denominator, "clock": self.clock,
                "exclusions": self.exclusions, "period_rule": self.period_rule(),
                "higher_is_better": self.higher_is_better}


ANCHORS = {
    "received": "按受理日计入统计期（工单生成之日，北京时间）",
    "sign_due": "按签收时限到期日计入统计期（派单后签收时限的最后一个工作日）",
    "signed": "按签收日计入统计期",
    "closed": "按办结日计入统计期",
    "close_due": "按办结时限到期日计入统计期（含已批准的延期）",
}

INDICATORS: dict[str, Indicator] = {i.code: i for i in (
    Indicator("sign_on_time", "按时签收率", "rate", "sign_on_time", "sign_due", "sign_due",
              "在签收时限内签收的工单数 / 签收时限已到或已签收的工单数",
              exclusions="尚未签收且签收时限未到的工单不计；未经派单直接办结的工单不计"),
    Indicator("first_contact", "先行联系率", "rate", "contacted", "signed", "signed",
              "签收后 1 个工作日内先行联系的工单数 / 已签收工单数",
              exclusions="未签收的工单不计；签收时已联系（签收备注）视为当即联系"),
    Indicator("closed_on_time", "按时办结率", "rate", "closed_on_time", "closed", "closed",
              "在办结时限（含批准的延期）内办结的工单数 / 办结工单数",
              exclusions="未办结的工单不计（见超期件数）"),
    Indicator("overdue_open", "超期件数", "count", "overdue_open", None, "close_due",
              "未办结且已超过办结时限（或当前环节已被督办系统标记超期）的工单数",
              exclusions="已办结的工单不计", higher_is_better=False),
    Indicator("return_rate", "退单率", "rate", "returned", "received", "received",
              "至少退单一次的工单数 / 受理工单数", exclusions="", higher_is_better=False),
    Indicator("extension_rate", "延期率", "rate", "extended", "closed", "closed",
              "经批准延期后办结的工单数 / 办结工单数",
              exclusions="申请未获批准的延期不计", higher_is_better=False),
    Indicator("redo_rate", "重办率", "rate", "redone", "closed", "closed",
              "办结前曾被审核驳回或回访不满意重办的工单数 / 办结工单数",
              exclusions="", higher_is_better=False),
    Indicator("satisfaction", "满意率", "rate", "satisfied", "rated", "closed",
              "回访「满意」与「基本满意」的工单数 / 已回访评价的办结工单数",
              exclusions="未回访（如退单后直接办结、工具复查办结）的工单不计"),
    Indicator("solved_rate", "实际解决率", "rate", "solved", "closed", "closed",
              "经处置、审核通过后办结（或工具现场复查确认）的工单数 / 办结工单数",
              exclusions="「办结」不等于「解决」：未经处置直接办结（如退单后办结）计入分母、不计入分子"),
    Indicator("avg_close_days", "平均办结时长", "average", "close_days_sum", "closed", "closed",
              "办结工单自受理至办结的工作日数之和 / 办结工单数（单位：工作日）",
              exclusions="未办结的工单不计", higher_is_better=False),
    Indicator("repeat_rate", "重复诉求率", "rate", "repeat", "received", "received",
              "被识别为重复诉求的工单数 / 受理工单数（重复诉求规则见 docs/assessment.md 第 4 部分）",
              higher_is_better=False),
)}

#: Measures kept per day (stats_daily columns) and what each counts, for the docs and the drill-down.
MEASURES = {
    "received": "受理工单数", "returned": "至少退单一次的工单数", "repeat": "重复诉求工单数",
    "sign_due": "签收时限已到或已签收的工单数", "sign_on_time": "按时签收的工单数",
    "signed": "已签收工单数", "contacted": "签收后 1 个工作日内先行联系的工单数",
    "closed": "办结工单数", "closed_on_time": "按时办结的工单数", "solved": "实际解决的工单数",
    "rated": "已回访评价的工单数", "satisfied": "满意及基本满意的工单数", "extended": "批准延期后办结的工单数",
    "redone": "曾驳回或重办后办结的工单数", "close_days_sum": "办结用时（工作日）之和",
    "overdue_open": "未办结且超期的工单数",
}
#: The day each measure is counted on (the period rule of every indicator built from it).
MEASURE_ANCHOR = {
    "received": "received", "returned": "received", "repeat": "received",
    "sign_due": "sign_due", "sign_on_time": "sign_due", "signed": "signed", "contacted": "signed",
    "closed": "closed", "closed_on_time": "closed", "solved": "closed", "rated": "closed", "satisfied": "closed",
    "extended": "closed", "redone": "closed", "close_days_sum": "closed", "overdue_open": "close_due",
}


@dataclass(frozen=True)
class ScorePreset:
    code: str
    name: str
    weights: dict[str, float] = field(default_factory=dict)


#: The 三率 (响应/解决/满意) as Chinese city-operations assessments weigh them: 30/35/35.
SCORE_PRESETS = {p.code: p for p in (
    ScorePreset("three_rates", "三率（响应30%、解决35%、满意35%）",
                {"sign_on_time": 30, "solved_rate": 35, "satisfaction": 35}),
    ScorePreset("timeliness", "时效（按时签收、先行联系、按时办结各三分之一）",
                {"sign_on_time": 1, "first_contact": 1, "closed_on_time": 1}),
)}
SCORE = Indicator("score", "综合得分", "score", "", None, "closed",
                  "所选权重下各比率指标（0–100）的加权平均；分母为 0 的指标不参与，其权重按比例分给其余指标",
                  exclusions="样本量低于最小样本的单位只显示、不排名")


def weights_from(preset: str | None, custom: str | None, default: str) -> tuple[str, dict[str, float]]:
    """The score's weights: `custom` "code:w,code:w" wins over a preset; ValueError names what is wrong."""
    if custom:
        weights: dict[str, float] = {}
        for part in custom.split(","):
            code, _, number = part.partition(":")
            if code not in INDICATORS or INDICATORS[code].kind != "rate":
                raise ValueError(code)
            weights[code] = float(number or 1)
        return "custom", weights
    code = preset or default
    if code not in SCORE_PRESETS:
        raise ValueError(code)
    return code, dict(SCORE_PRESETS[code].weights)


def value_of(indicator: Indicator, sums: dict[str, int]) -> dict:
    """{value, numerator, denominator} of one indicator from summed measures (value None when undefined)."""
    numerator = int(sums.get(indicator.numerator) or 0)
    if indicator.denominator is None:
        return {"value": numerator, "numerator": numerator, "denominator": None}
    denominator = int(sums.get(indicator.denominator) or 0)
    if not denominator:
        return {"value": None, "numerator": numerator, "denominator": denominator}
    ratio = numerator / denominator
    value = round(ratio * 100, 2) if indicator.kind == "rate" else round(ratio, 2)
    return {"value": value, "numerator": numerator, "denominator": denominator}


def score_of(values: dict[str, dict], weights: dict[str, float]) -> float | None:
    """Weighted mean of the rates that have a value; a rate where lower is better counts as 100 − rate."""
    total = weight_sum = 0.0
    for code, weight in weights.items():
        value = values[code]["value"]
        if value is None or not weight:
            continue
        total += weight * (value if INDICATORS[code].higher_is_better else 100 - value)
        weight_sum += weight
    return round(total / weight_sum, 2) if weight_sum else None
