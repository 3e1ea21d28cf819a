"""The renderers: a report model (`planner.reports`) laid out as bytes, thin over the templates.

- `html`: one self-contained page per report from templates/<kind>.html.j2, with the
  formatting of `planner.core.formatting` as its Jinja2 filters;
- `charts`: the inline SVG charts of the HTML pages;
- `xlsx`: an Excel workbook from templates/<kind>.xlsx, a template whose cells hold Jinja2;
- `csv`: plan.csv and any analysis's own rows, safe from CSV injection.

Renderers never decide what a report says and never write files (`planner.publish` does).
"""
