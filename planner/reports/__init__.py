"""The report models: what a plan, a roll-forward or a what-if analysis says, as plain frozen
dataclasses (numbers, labels, flags; never formatted text), ready for any renderer.

- `plan_report`: a plan's report, and the `Report` and `Section` types every kind uses;
- `quarterly`: a plan rolled forward (what changed, the timeline, plan versus actual);
- `analysis_reports`: the frontier, comparison, explanations and tornado reports.

Nothing here renders or writes a file: `planner.render` lays a report out, `planner.publish`
writes it.
"""
