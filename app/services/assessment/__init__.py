"""Assessment and analysis (考核监督, issue 17). One concern per module:

    indicators.py  the indicator dictionary: numerator, denominator, clock, exclusions, period rule; the score
    facts.py       one work item's facts (signed on time? solved? …), from the item and its timeline
    store.py       stats_item / stats_daily kept current on every commit; rebuild()
    query.py       indicators per unit and period within scope; the drill-down to the items
    repeats.py     repeat complaints (重复诉求)
"""
